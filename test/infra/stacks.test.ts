import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FUNCTION_ACCESS,
  FUNCTION_THROTTLING_DEFAULTS,
  PUBLIC_ROUTE_THROTTLE,
  ShoalApi,
  type ShoalApiProps,
  type ShoalStatelessStack,
} from '../../infra/shoal-api.js';
import { type ShoalStatefulStack, ShoalStorage } from '../../infra/shoal-storage.js';
import { LOG_TABLE, META_TABLE } from '../../shared/adapters/dynamodb/table-schema.js';
import { BACKGROUND_FUNCTIONS } from '../../shared/background-functions.js';
import { ENV } from '../../shared/config.js';
import { FUNCTION_NAMES, type FunctionName, ROUTES } from '../../shared/http/route-table.js';
import {
  actionsOf,
  type CfnResource,
  DYNAMODB_WRITE_ACTIONS,
  logicalIdOf,
  type PolicyStatement,
  resourcesOf,
  synthesizeShoalApp,
} from './shoal-app.js';

let stateful: ShoalStatefulStack;
let stateless: ShoalStatelessStack;
let statefulTemplate: Template;
let statelessTemplate: Template;

// Bundling the functions is the slow part: build the app once, as infra/app.ts does; this file
// proves that every function bundles. Eleven esbuild runs took over two minutes on a loaded 2-core
// machine: the bound is generous, since a synthesis that hangs is the only thing it should catch.
beforeAll(() => {
  ({ stateful, stateless, statefulTemplate, statelessTemplate } = synthesizeShoalApp({ bundling: true }));
}, 600_000);

/** Every statement of every identity policy, managed policy and inline role policy of a template. */
function policyStatementsOf(template: Template): PolicyStatement[] {
  const documents: { Statement: PolicyStatement[] }[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const resource of Object.values(resourcesOf(template, type))) {
      documents.push(resource.Properties.PolicyDocument as { Statement: PolicyStatement[] });
    }
  }
  for (const role of Object.values(resourcesOf(template, 'AWS::IAM::Role'))) {
    for (const policy of (role.Properties.Policies ?? []) as {
      PolicyDocument: { Statement: PolicyStatement[] };
    }[]) {
      documents.push(policy.PolicyDocument);
    }
  }
  return documents.flatMap((document) => document.Statement);
}

/** The statements of the default (inline) policy attached to a function's role. */
function roleStatementsOf(name: FunctionName): PolicyStatement[] {
  const role = stateless.api.functions[name].role;
  if (!role) throw new Error(`${name} has no role`);
  const roleLogicalId = logicalIdOf(stateless, role);
  return Object.values(resourcesOf(statelessTemplate, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleLogicalId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

function tableActionsFor(name: FunctionName, table: 'logTable' | 'metaTable'): string[] {
  const tableArn = JSON.stringify(stateless.resolve(stateful.storage[table].tableArn));
  return roleStatementsOf(name)
    .filter((statement) => JSON.stringify(statement.Resource).includes(tableArn))
    .flatMap(actionsOf);
}

/** Rebuilds a method's resource path by following `ParentId` up to the API root. */
function resourcePathOf(template: Template, method: CfnResource): string {
  const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
  const segments: string[] = [];
  let parent = method.Properties.ResourceId as { Ref?: string } | undefined;
  while (parent?.Ref) {
    const resource = resources[parent.Ref];
    if (!resource) break;
    segments.unshift(resource.Properties.PathPart as string);
    parent = resource.Properties.ParentId as { Ref?: string } | undefined;
  }
  return `/${segments.join('/')}`;
}

describe('stateful stack', () => {
  it('keys the log table by pk (S) and sk (N) with TTL, a stream of both images, PITR and retention', () => {
    statefulTemplate.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: LOG_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: LOG_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: LOG_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: LOG_TABLE.sortKey, AttributeType: 'N' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: LOG_TABLE.ttlAttribute, Enabled: true },
        StreamSpecification: { StreamViewType: LOG_TABLE.streamView },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('keys the meta table by pk (S) and sk (S) with TTL, PITR and retention', () => {
    statefulTemplate.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: META_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: META_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: META_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: META_TABLE.sortKey, AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: META_TABLE.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
    statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  it('keeps segments private, encrypted, versioned, access-logged and retained', () => {
    const segmentBucketId = logicalIdOf(stateful, stateful.storage.segmentBucket);
    const segmentBucket = resourcesOf(statefulTemplate, 'AWS::S3::Bucket')[segmentBucketId];

    expect(segmentBucket).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: {
          DestinationBucketName: {
            Ref: logicalIdOf(stateful, stateful.storage.accessLogsBucket as s3.Bucket),
          },
        },
      },
    });
  });

  it('denies requests without TLS on every bucket', () => {
    const buckets = Object.keys(resourcesOf(statefulTemplate, 'AWS::S3::Bucket'));
    const policies = Object.values(resourcesOf(statefulTemplate, 'AWS::S3::BucketPolicy'));

    for (const bucket of buckets) {
      const policy = policies.find(
        (candidate) => (candidate.Properties.Bucket as { Ref?: string }).Ref === bucket,
      );
      expect(policy?.Properties.PolicyDocument).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      });
    }
    expect(buckets).toHaveLength(2);
  });

  it('blocks public access and encrypts the access logs bucket too', () => {
    statefulTemplate.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      }),
      BucketEncryption: Match.anyValue(),
    });
  });
});

describe('stateless stack', () => {
  it('runs one function per FunctionName on nodejs22.x and arm64 with the table and bucket names', () => {
    const functions = resourcesOf(statelessTemplate, 'AWS::Lambda::Function');

    for (const name of FUNCTION_NAMES) {
      const fn = functions[logicalIdOf(stateless, stateless.api.functions[name])];
      expect(fn?.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: {
            [ENV.logTableName]: stateless.resolve(stateful.storage.logTable.tableName),
            [ENV.metaTableName]: stateless.resolve(stateful.storage.metaTable.tableName),
            [ENV.segmentBucketName]: stateless.resolve(stateful.storage.segmentBucket.bucketName),
          },
        },
      });
    }
    // Besides the API's functions, the background ones (`shared/background-functions.ts`), the
    // lag monitor of the observability construct and the watch API's function.
    expect(Object.keys(functions)).toHaveLength(FUNCTION_NAMES.length + BACKGROUND_FUNCTIONS.length + 2);
  });

  it('starts no function with --enable-source-maps: errors are mapped when logged, not every stack at every start', () => {
    const functions = Object.values(resourcesOf(statelessTemplate, 'AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(FUNCTION_NAMES.length);
    for (const fn of functions) {
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      expect(String(variables?.NODE_OPTIONS ?? '')).not.toContain('--enable-source-maps');
    }
  });

  it('keeps the logical ids the API functions were deployed with before ShoalFunction built them', () => {
    // Function, log group, role, role policy: a new id would replace the function and leave its
    // retained log group behind.
    const deployed: Record<FunctionName, readonly string[]> = {
      'manage-topics': [
        'ApiManageTopicsD4CEC889',
        'ApiManageTopicsLogs11821FC7',
        'ApiManageTopicsRole0DECDB33',
        'ApiManageTopicsRoleDefaultPolicyFE778BEF',
      ],
      'produce-records': [
        'ApiProduceRecordsC8E442ED',
        'ApiProduceRecordsLogs0D839573',
        'ApiProduceRecordsRole79DD7824',
        'ApiProduceRecordsRoleDefaultPolicyF691FDBB',
      ],
      'fetch-records': [
        'ApiFetchRecordsC00B302D',
        'ApiFetchRecordsLogsE51FEFEF',
        'ApiFetchRecordsRoleE3185EF9',
        'ApiFetchRecordsRoleDefaultPolicy3470F32B',
      ],
      'manage-groups': [
        'ApiManageGroups718EC219',
        'ApiManageGroupsLogsE54275A5',
        'ApiManageGroupsRoleC6EBA1AA',
        'ApiManageGroupsRoleDefaultPolicyB8050C76',
      ],
      'manage-subscriptions': [
        'ApiManageSubscriptions1DCBC6AE',
        'ApiManageSubscriptionsLogs85BA8824',
        'ApiManageSubscriptionsRoleEE487131',
        'ApiManageSubscriptionsRoleDefaultPolicy7EF749FD',
      ],
    };

    for (const name of FUNCTION_NAMES) {
      const fn = stateless.api.functions[name];
      const role = fn.role as iam.Role;
      const constructs = [fn, fn.logGroup, role, role.node.findChild('DefaultPolicy')];

      expect(
        constructs.map((construct) => logicalIdOf(stateless, construct)),
        name,
      ).toEqual(deployed[name]);
    }
  });

  it('logs each function to its own log group with a retention', () => {
    const functions = Object.values(resourcesOf(statelessTemplate, 'AWS::Lambda::Function'));
    const logGroups = resourcesOf(statelessTemplate, 'AWS::Logs::LogGroup');

    const groupIds = functions.map(
      (fn) => (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
    );

    expect(new Set(groupIds).size).toBe(FUNCTION_NAMES.length + BACKGROUND_FUNCTIONS.length + 2);
    for (const id of groupIds) expect(logGroups[id]?.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('grants each function exactly the table access FUNCTION_ACCESS declares', () => {
    for (const name of FUNCTION_NAMES) {
      for (const table of ['logTable', 'metaTable'] as const) {
        const actions = tableActionsFor(name, table);
        const access = FUNCTION_ACCESS[name][table];

        expect(actions.includes('dynamodb:GetItem'), `${name} reads ${table}`).toBe(access !== 'none');
        expect(
          DYNAMODB_WRITE_ACTIONS.some((action) => actions.includes(action)),
          `${name} writes ${table}`,
        ).toBe(access === 'readWrite');
      }
    }
  });

  it('lets manage-groups change group items in the meta table with conditional transactions, and only read the log', () => {
    const meta = tableActionsFor('manage-groups', 'metaTable');
    const log = tableActionsFor('manage-groups', 'logTable');

    // Join, leave, commit and reset are TransactWriteItems of Put/Update/Delete/ConditionCheck items.
    for (const action of [
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
    ]) {
      expect(meta, action).toContain(action);
    }
    expect(log).toContain('dynamodb:Query');
    expect(DYNAMODB_WRITE_ACTIONS.filter((action) => log.includes(action))).toEqual([]);
  });

  it('attaches the segment read policy only to functions that read segments', () => {
    const roles = resourcesOf(statelessTemplate, 'AWS::IAM::Role');
    const policyRef = JSON.stringify(stateless.resolve(stateful.storage.segmentReadPolicy.managedPolicyArn));

    for (const name of FUNCTION_NAMES) {
      const functionRole = stateless.api.functions[name].role;
      const role = functionRole ? roles[logicalIdOf(stateless, functionRole)] : undefined;
      const attached = JSON.stringify(role?.Properties.ManagedPolicyArns ?? []).includes(policyRef);
      expect(attached, name).toBe(FUNCTION_ACCESS[name].segments === 'read');
    }
  });

  it('builds one IAM-authorized method per route (none on the public health check), on the route path, proxied to its function', () => {
    const methods = Object.values(resourcesOf(statelessTemplate, 'AWS::ApiGateway::Method'));

    for (const route of ROUTES) {
      const method = methods.find((candidate) => candidate.Properties.OperationName === route.operationId);
      const functionId = logicalIdOf(stateless, stateless.api.functions[route.functionName]);

      expect(method?.Properties, route.operationId).toMatchObject({
        HttpMethod: route.method,
        AuthorizationType: route.operationId === 'getHealth' ? 'NONE' : 'AWS_IAM',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(resourcePathOf(statelessTemplate, method as CfnResource)).toBe(route.path);
      expect(JSON.stringify(method?.Properties.Integration)).toContain(functionId);
    }
    expect(methods).toHaveLength(ROUTES.length);
  });

  it('requires and validates the path parameters of every method', () => {
    const validators = Object.keys(resourcesOf(statelessTemplate, 'AWS::ApiGateway::RequestValidator'));
    const methods = Object.values(resourcesOf(statelessTemplate, 'AWS::ApiGateway::Method'));

    for (const route of ROUTES) {
      const method = methods.find((candidate) => candidate.Properties.OperationName === route.operationId);
      const parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);

      expect(method?.Properties.RequestParameters ?? {}).toEqual(
        Object.fromEntries(parameters.map((parameter) => [`method.request.path.${parameter}`, true])),
      );
      expect(method?.Properties.RequestValidatorId).toEqual({ Ref: validators[0] });
    }
    statelessTemplate.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestParameters: true,
    });
  });

  it('throttles every route on its own, by the function that serves it', () => {
    const stage = Object.values(resourcesOf(statelessTemplate, 'AWS::ApiGateway::Stage'))[0];
    const settings = (stage?.Properties.MethodSettings ?? []) as {
      HttpMethod: string;
      ResourcePath: string;
      ThrottlingRateLimit: number;
      ThrottlingBurstLimit: number;
    }[];

    for (const route of ROUTES) {
      const setting = settings.find(
        (candidate) =>
          candidate.HttpMethod === route.method &&
          candidate.ResourcePath === `/${route.path.replaceAll('/', '~1')}`,
      );
      const throttle =
        route.operationId === 'getHealth'
          ? PUBLIC_ROUTE_THROTTLE
          : FUNCTION_THROTTLING_DEFAULTS[route.functionName];
      expect(setting, `${route.method} ${route.path}`).toMatchObject({
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      });
    }
    // Fetches and group calls grow with consumers: far above the old 100 per second of every route.
    expect(FUNCTION_THROTTLING_DEFAULTS['fetch-records'].rateLimit).toBeGreaterThanOrEqual(1000);
    expect(FUNCTION_THROTTLING_DEFAULTS['manage-groups'].rateLimit).toBeGreaterThanOrEqual(500);
  });

  it("takes one function's throttle from `throttling`, and the others' from the stage-wide props", () => {
    // No bundling: this test reads the stage's settings only.
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const storage = new ShoalStorage(stack, 'Storage');
    new ShoalApi(stack, 'Api', {
      storage,
      throttlingRateLimit: 50,
      throttlingBurstLimit: 60,
      throttling: { 'fetch-records': { rateLimit: 3000, burstLimit: 4000 } },
    });
    const stage = Object.values(resourcesOf(Template.fromStack(stack), 'AWS::ApiGateway::Stage'))[0];
    const settings = (stage?.Properties.MethodSettings ?? []) as Record<string, unknown>[];
    const of = (path: string, method: string) =>
      settings.find(
        (setting) =>
          setting.ResourcePath === `/${path.replaceAll('/', '~1')}` && setting.HttpMethod === method,
      );

    expect(of('/v1/topics/{topic}/partitions/{partition}/records', 'GET')).toMatchObject({
      ThrottlingRateLimit: 3000,
      ThrottlingBurstLimit: 4000,
    });
    expect(of('/v1/topics/{topic}/records', 'POST')).toMatchObject({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 60,
    });
  });

  it('serves a Regional API whose stage writes JSON access logs, traces, and throttles', () => {
    statelessTemplate.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    statelessTemplate.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: Match.anyValue(),
        Format: Match.serializedJson(
          Match.objectLike({ requestId: '$context.requestId', status: '$context.status' }),
        ),
      },
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ]),
    });
  });

  it("traces 5% of the stage's requests, with no per-second reservoir, ahead of X-Ray's default rule", () => {
    const rules = Object.values(statelessTemplate.findResources('AWS::XRay::SamplingRule'));

    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties.SamplingRule).toMatchObject({
      FixedRate: 0.05,
      ReservoirSize: 0,
      ServiceType: 'AWS::ApiGateway::Stage',
      Version: 1,
    });
    expect(rules[0]?.Properties.SamplingRule.Priority).toBeLessThan(10_000);
    // Only this stage's requests: the rule names its ARN.
    const arn = JSON.stringify(rules[0]?.Properties.SamplingRule.ResourceARN);
    expect(arn).toContain(':apigateway:');
    expect(arn).toContain('/stages/');
    expect(arn).toContain(logicalIdOf(stateless, stateless.api.restApi));
    expect(arn).toContain(logicalIdOf(stateless, stateless.api.restApi.deploymentStage));
  });
});

describe('both stacks', () => {
  it('grant no wildcard action such as dynamodb:* or *', () => {
    const statements = [...policyStatementsOf(statefulTemplate), ...policyStatementsOf(statelessTemplate)];

    const wildcards = statements
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap(actionsOf)
      .filter((action) => action === '*' || action.endsWith(':*'));

    expect(wildcards).toEqual([]);
    expect(statements.length).toBeGreaterThan(0);
  });

  it('have no unacknowledged finding of the cdk-nag AwsSolutions or Serverless pack, error or warning', () => {
    // cdk-nag 3 packs are policy-validation plugins: findings are not annotations, so they are read
    // from the packs directly (infra/app.ts registers the same packs, which fail `cdk synth` on any).
    for (const stack of [stateful, stateless]) {
      const violations = [
        new AwsSolutionsChecks(undefined, { verbose: true }),
        new ServerlessChecks(undefined, { verbose: true }),
      ].flatMap((pack) => pack.validateScope(stack).violations);

      const findings = violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      );

      expect(findings, stack.stackName).toEqual([]);
    }
  });

  it('watch the deployment by default: the lag monitor, a dashboard, and alarms on lag, dead letters, 5xx, stream iterator age, stopped jobs, failing background functions and throttling', () => {
    statelessTemplate.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const alarms = Object.values(resourcesOf(statelessTemplate, 'AWS::CloudWatch::Alarm'));

    expect(alarms.map((alarm) => alarm.Properties.MetricName ?? 'query').sort()).toEqual(
      [
        '5XXError',
        'ApproximateNumberOfMessagesVisible',
        'ArchiveHeadroomMsMin',
        'ConsumerLagMax',
        'IteratorAge',
        'IteratorAge',
        'Invocations',
        'Invocations',
        'Invocations',
        'Invocations',
        // dead letters (a Metrics Insights query), background errors, throttling (metric math)
        'query',
        'query',
        'query',
      ].sort(),
    );
  });

  it('alarms when the TTL rescue or the dispatcher is an hour behind the log table stream, for 15 minutes', () => {
    const alarms = Object.values(resourcesOf(statelessTemplate, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'IteratorAge',
    );
    const functions = [stateless.tieredStorage.rescuer.function, stateless.subscriptions.dispatcher.function];

    expect(alarms.map((alarm) => alarm.Properties.Dimensions)).toEqual(
      functions.map((fn) => [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(stateless, fn) } }]),
    );
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 3,
        Threshold: 3_600_000,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('labels each function on the dashboard by its name', () => {
    const dashboard = JSON.stringify(
      Object.values(resourcesOf(statelessTemplate, 'AWS::CloudWatch::Dashboard')),
    );

    for (const label of [
      'ProduceRecords',
      'ManageGroups',
      'ArchiveSegments',
      'RescueBatches',
      'DispatchSubscriptions',
    ]) {
      expect(dashboard).toContain(`${label} errors`);
    }
    expect(dashboard).not.toMatch(/label\W+Function errors/);
  });

  it('carry no CDK error or warning annotation', () => {
    for (const stack of [stateful, stateless]) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue()), stack.stackName).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue()), stack.stackName).toEqual([]);
    }
  });
});

describe('props validation', () => {
  it('fails when accessLogsRetention is given with an accessLogsBucket', () => {
    const stack = new Stack();
    const accessLogsBucket = new s3.Bucket(stack, 'Logs');

    const create = () =>
      new ShoalStorage(stack, 'Storage', { accessLogsBucket, accessLogsRetention: Duration.days(7) });

    expect(create).toThrow(/accessLogsRetention \(7 days\)/);
  });

  it('fails when noncurrentSegmentRetention is not a whole number of days', () => {
    const create = () =>
      new ShoalStorage(new Stack(), 'Storage', { noncurrentSegmentRetention: Duration.hours(36) });

    expect(create).toThrow(
      /noncurrentSegmentRetention must be a whole number of days .*, got 1 day 12 hours/,
    );
  });

  it('fails when the function timeout exceeds the API Gateway integration timeout', () => {
    const stack = new Stack();
    const storage = new ShoalStorage(stack, 'Storage');

    const create = () => new ShoalApi(stack, 'Api', { storage, timeout: Duration.minutes(1) });

    expect(create).toThrow(/timeout .* got 1 minute/);
  });

  it.each([
    [{ traceSampleRate: 1.5 }, /traceSampleRate must be from 0 to 1, got 1.5/],
    [{ traceReservoirPerSecond: 0.5 }, /traceReservoirPerSecond must be a whole number .* got 0.5/],
    [{ throttlingRateLimit: 0 }, /throttlingRateLimit must be above 0 and at most 10000, got 0/],
    [{ throttlingBurstLimit: 1.5 }, /throttlingBurstLimit must be a whole number from 1 to 5000, got 1.5/],
    [
      { throttling: { 'fetch-records': { rateLimit: 20_000, burstLimit: 10 } } },
      /throttling.fetch-records.rateLimit must be above 0 and at most 10000, got 20000/,
    ],
    [
      { throttling: { 'fetch-records': { rateLimit: 10 } } },
      /throttling.fetch-records.burstLimit must be a whole number from 1 to 5000, got NaN/,
    ],
    [
      { throttling: { fetch: { rateLimit: 10, burstLimit: 10 } } },
      /throttling names "fetch", which is not one of/,
    ],
    [{ memorySize: 100 }, /memorySize must be a whole number of MiB from 128 to 10240, got 100/],
  ] as [Partial<ShoalApiProps>, RegExp][])('fails when given %o', (props, message) => {
    const stack = new Stack();
    const storage = new ShoalStorage(stack, 'Storage');

    expect(() => new ShoalApi(stack, 'Api', { storage, ...props })).toThrow(message);
  });

  it('fails when the stage name has characters API Gateway rejects', () => {
    const stack = new Stack();
    const storage = new ShoalStorage(stack, 'Storage');

    const create = () => new ShoalApi(stack, 'Api', { storage, stageName: 'live stage' });

    expect(create).toThrow(/got "live stage"/);
  });
});

/**
 * The embeddable construct, synthesized once with the optional production features on (JWT
 * authorizer, WAF, access policies, alarm actions): protection, authorization, least privilege,
 * observability, and both cdk-nag packs.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShoalJwtAuthorizer } from '../../infra/authorization.js';
import { ShoalObservability } from '../../infra/observability.js';
import { GATEWAY_PROBLEMS } from '../../infra/protection.js';
import { ShoalLog } from '../../infra/shoal-log.js';
import { ShoalStorage } from '../../infra/shoal-storage.js';
import { ENV } from '../../shared/config.js';
import { ROUTES } from '../../shared/http/route-table.js';
import { METRIC, METRICS_NAMESPACE } from '../../shared/observability/telemetry.js';
import { CDK_CONTEXT } from './shoal-app.js';

type CfnResource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };
type PolicyStatement = { Effect: string; Action: string | string[]; Resource: unknown };

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:shoal-jwt-AbCdEf';
const WEB_ACL_ARN = 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/shoal/0123';
const ALARM_TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:on-call';

let stack: Stack;
let shoal: ShoalLog;
let template: Template;
let ordersService: iam.Role;
let ordersGrant: iam.Grant;
let billingService: iam.Role;

beforeAll(() => {
  // Bundling is proven by the stacks' tests and `cdk synth`; this file needs the templates only.
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'Embedded');
  shoal = new ShoalLog(stack, 'Shoal', {
    storage: { segmentObjectLock: { mode: 'governance', retention: Duration.days(30) } },
    api: {
      jwtAuthorizer: {
        issuer: 'https://issuer.example',
        audience: 'shoal-api',
        hs256Secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'JwtKey', SECRET_ARN),
      },
      webAclArn: WEB_ACL_ARN,
    },
    observability: {
      alarmActions: [
        new cloudwatchActions.SnsAction(sns.Topic.fromTopicArn(stack, 'OnCall', ALARM_TOPIC_ARN)),
      ],
      consumerLagThreshold: 5000,
    },
    accessPolicies: {
      OrdersProducer: ['topic:orders:Write'],
      Monitor: ['cluster:*:Describe', 'topic:*:Describe'],
      BillingConsumer: ['topic:orders:Read', 'group:billing:Read'],
    },
  });
  ordersService = new iam.Role(stack, 'OrdersService', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  ordersGrant = shoal.grant(ordersService, ['cluster:*:Create']);
  billingService = new iam.Role(stack, 'BillingService', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  shoal.grant(billingService, ['topic:orders:Read', 'group:billing:Read']);
  template = Template.fromStack(stack);
}, 180_000);

function resourcesOf(type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

function logicalIdOf(construct: { node: { defaultChild?: unknown } }): string {
  return stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId);
}

/** Statements of the inline policies attached to a role. */
function statementsOfRole(roleLogicalId: string): PolicyStatement[] {
  return Object.values(resourcesOf('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleLogicalId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

const actionsOf = (statement: PolicyStatement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('authorization', () => {
  it('puts every method but the public health check behind the JWT authorizer when one is configured', () => {
    const methods = Object.values(resourcesOf('AWS::ApiGateway::Method'));
    const authorizerId = logicalIdOf(shoal.api.jwtAuthorizer?.authorizer as never);

    expect(methods).toHaveLength(ROUTES.length);
    for (const method of methods) {
      if (method.Properties.OperationName === 'getHealth') {
        expect(method.Properties.AuthorizationType).toBe('NONE');
        continue;
      }
      expect(method.Properties, String(method.Properties.OperationName)).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
      });
    }
  });

  it('caches each decision per token, method and path, for five minutes', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization,context.httpMethod,context.path',
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  it('configures the authorizer from its props and lets it read the HS256 secret and nothing else', () => {
    const authorizer = shoal.api.jwtAuthorizer as ShoalJwtAuthorizer;
    const fn = resourcesOf('AWS::Lambda::Function')[logicalIdOf(authorizer.function.function)];
    const statements = statementsOfRole(logicalIdOf(authorizer.function.role));

    expect(fn?.Properties.Environment).toEqual({
      Variables: expect.objectContaining({
        [ENV.jwtIssuer]: 'https://issuer.example',
        [ENV.jwtAudience]: 'shoal-api',
        [ENV.jwtAlgorithms]: 'HS256',
        [ENV.jwtSecretArn]: SECRET_ARN,
        [ENV.jwtClockSkewS]: '60',
      }),
    });
    expect(
      statements
        .flatMap(actionsOf)
        .filter((action) => !action.startsWith('xray:') && !action.startsWith('logs:'))
        .sort(),
    ).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
  });

  it('returns the grant it adds to the principal, as aws-cdk-lib grants do', () => {
    const granted = statementsOfRole(logicalIdOf(ordersService));
    const resourcesOf = (resource: unknown) =>
      [resource]
        .flat()
        .map((arn) => JSON.stringify(stack.resolve(arn)))
        .sort();

    expect(ordersGrant.success).toBe(true);
    expect(granted.flatMap(actionsOf)).toEqual(['execute-api:Invoke']);
    expect(ordersGrant.principalStatements.flatMap((statement) => resourcesOf(statement.resources))).toEqual(
      resourcesOf(granted[0]?.Resource),
    );
  });

  it('lets an ACL that reads a topic connect to the watch WebSocket ($connect of its stage only), and no other', () => {
    const connectArn = JSON.stringify(
      stack.resolve(
        stack.formatArn({
          service: 'execute-api',
          resource: shoal.watch.webSocketApi.apiId,
          resourceName: `${shoal.watch.stage.stageName}/$connect`,
        }),
      ),
    );
    /** The watch ARNs an Allow of these statements names (statements of one action may be merged). */
    const connects = (statements: PolicyStatement[]) =>
      statements
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => [statement.Resource].flat().map((arn) => JSON.stringify(arn)))
        .filter((arn) => arn.includes('$connect'));
    expect(connects(statementsOfRole(logicalIdOf(billingService)))).toEqual([connectArn]);
    expect(connects(statementsOfRole(logicalIdOf(ordersService)))).toEqual([]);

    const documentOf = (name: string): PolicyStatement[] => {
      const policy = shoal.accessPolicies[name];
      if (!policy) throw new Error(`no access policy ${name}`);
      const logicalId = stack.resolve((policy.policy.node.defaultChild as iam.CfnManagedPolicy).logicalId);
      const resource = resourcesOf('AWS::IAM::ManagedPolicy')[logicalId];
      return (
        (resource?.Properties.PolicyDocument as { Statement: PolicyStatement[] } | undefined)?.Statement ?? []
      );
    };
    expect(connects(documentOf('BillingConsumer'))).toEqual([connectArn]);
    expect(connects(documentOf('OrdersProducer'))).toEqual([]);
    expect(connects(documentOf('Monitor'))).toEqual([]);
  });

  it('creates each access policy with execute-api:Invoke only, and outputs its ARN', () => {
    const policies = Object.values(resourcesOf('AWS::IAM::ManagedPolicy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('execute-api'),
    );

    expect(policies).toHaveLength(3);
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
      expect(statements.flatMap(actionsOf)).toEqual(statements.map(() => 'execute-api:Invoke'));
    }
    expect(
      Object.keys(template.findOutputs('*')).filter((name) => name.includes('AccessPolicyArn')),
    ).toHaveLength(3);
  });
});

describe('protection', () => {
  it('associates the web ACL with the stage', () => {
    const stageId = logicalIdOf(shoal.api.restApi.deploymentStage);

    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: WEB_ACL_ARN });
    expect(JSON.stringify(resourcesOf('AWS::WAFv2::WebACLAssociation'))).toContain(stageId);
  });

  it('answers the gateway errors as problem+json, 429 with Retry-After', () => {
    const responses = Object.values(resourcesOf('AWS::ApiGateway::GatewayResponse'));

    expect(responses.map((response) => response.Properties.ResponseType).sort()).toEqual(
      GATEWAY_PROBLEMS.map((problem) => problem.type.responseType).sort(),
    );
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: {
        'gatewayresponse.header.Retry-After': "'1'",
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
      },
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp(
          '"type":"urn:shoal:problem:throttled".*"error_code":42901',
        ),
      },
    });
  });

  it('throttles the stage and keeps TLS-only, encrypted, point-in-time-recoverable storage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ]),
    });
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    template.allResourcesProperties('AWS::S3::Bucket', { BucketEncryption: Match.anyValue() });
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    for (const policy of Object.values(resourcesOf('AWS::S3::BucketPolicy'))) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('locks segment versions (WORM) for the retention asked, on a versioned bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } },
      },
    });
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(resourcesOf('AWS::Logs::LogGroup'));

    expect(groups.length).toBeGreaterThan(10);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });
});

describe('observability', () => {
  it('samples lag every ten minutes with a read-only role', () => {
    const monitor = (shoal.observability as ShoalObservability).lagMonitor;
    const actions = statementsOfRole(logicalIdOf(monitor.role)).flatMap(actionsOf);

    template.hasResourceProperties('AWS::Events::Rule', {
      Description: 'Samples Shoal consumer and archive lag',
      ScheduleExpression: 'rate(10 minutes)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    expect(actions).toContain('dynamodb:Query');
    expect(actions.filter((action) => /^dynamodb:.*(Put|Update|Delete|Write)/.test(action))).toEqual([]);
  });

  it('alarms on consumer lag, archive lag, dead letters, failure queues, 5xx and stream iterator age, notifying the alarm actions', () => {
    const alarms = Object.values(resourcesOf('AWS::CloudWatch::Alarm'));

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.consumerLagMax,
      Threshold: 5000,
      ComparisonOperator: 'GreaterThanThreshold',
      // 20 minutes of 10-minute samples.
      EvaluationPeriods: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC.archiveHeadroomMsMin,
      Threshold: Duration.hours(6).toMilliseconds(),
      ComparisonOperator: 'LessThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          Expression: Match.stringLikeRegexp(
            "SELECT SUM\\(DeadLetteredRecords\\) .* WHERE service = 'Embedded'",
          ),
        }),
      ],
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
    });
    // The TTL rescue's and the dispatcher's iterator age on the log table's stream.
    expect(alarms.filter((alarm) => alarm.Properties.MetricName === 'IteratorAge')).toHaveLength(2);
    // The archiver, the reaper, the sweep and the lag monitor each: no run is what they alarm on.
    const jobs = alarms.filter((alarm) => alarm.Properties.MetricName === 'Invocations');
    expect(jobs).toHaveLength(4);
    // Plus the background functions' errors and the throttling.
    expect(alarms).toHaveLength(13);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([ALARM_TOPIC_ARN]);
      expect(alarm.Properties.TreatMissingData).toBe(jobs.includes(alarm) ? 'breaching' : 'notBreaching');
    }
  });

  it('draws a dashboard of the API, the log, lag, subscriptions and functions', () => {
    const [dashboard] = Object.values(resourcesOf('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    for (const metric of [
      METRIC.producedRecords,
      METRIC.fetchedBytes,
      METRIC.consumerLag,
      METRIC.archiveLagRecords,
      METRIC.dynamoDbThrottles,
      'DeadLetteredRecords',
      '5XXError',
    ]) {
      expect(body, metric).toContain(metric);
    }
  });

  it('traces the stage and the API functions, and passes tracing through in the work schedules start', () => {
    const functions = resourcesOf('AWS::Lambda::Function');
    const modeOf = (fn: { node: { defaultChild?: unknown } } | undefined) =>
      fn && (functions[logicalIdOf(fn)]?.Properties.TracingConfig as { Mode?: string } | undefined)?.Mode;
    const background = [
      shoal.tieredStorage.archiver.function,
      shoal.subscriptions.dispatcher.function,
      shoal.observability?.lagMonitor.function,
    ];

    expect(Object.values(shoal.api.functions).map(modeOf)).toEqual(
      Object.values(shoal.api.functions).map(() => 'Active'),
    );
    expect(background.map(modeOf)).toEqual(['PassThrough', 'PassThrough', 'PassThrough']);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
  });
});

describe('least privilege and cdk-nag', () => {
  it('grants no wildcard action in any policy', () => {
    const statements = [
      ...Object.values(resourcesOf('AWS::IAM::Policy')),
      ...Object.values(resourcesOf('AWS::IAM::ManagedPolicy')),
    ].flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);

    const wildcards = statements
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap(actionsOf)
      .filter((action) => action === '*' || action.endsWith(':*'));

    expect(wildcards).toEqual([]);
  });

  it('has no unacknowledged finding of the AwsSolutions or the Serverless pack', () => {
    const findings = [new AwsSolutionsChecks(undefined, {}), new ServerlessChecks(undefined, {})].flatMap(
      (pack) =>
        pack
          .validateScope(stack)
          .violations.flatMap((violation) =>
            violation.violatingResources.map(
              (resource) => `${violation.ruleName} at ${resource.constructPath}`,
            ),
          ),
    );

    expect(findings).toEqual([]);
  });

  it('carries no CDK error or warning annotation', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('props validation', () => {
  it('fails when RS256 is asked for without a JWKS', () => {
    const create = () =>
      new ShoalJwtAuthorizer(new Stack(), 'Auth', {
        issuer: 'https://i',
        audience: 'a',
        algorithms: ['RS256'],
      });

    expect(create).toThrow('RS256 needs the identity provider keys: give jwksUrl or jwks');
  });

  it('fails when the segment lock is not a whole number of days', () => {
    const create = () =>
      new ShoalStorage(new Stack(), 'Storage', {
        segmentObjectLock: { mode: 'compliance', retention: Duration.hours(36) },
      });

    expect(create).toThrow(
      /segmentObjectLock.retention must be a whole number of days .*, got 1 day 12 hours/,
    );
  });

  it('fails when the JWKS URL is not https', () => {
    const create = () =>
      new ShoalJwtAuthorizer(new Stack(), 'Auth', {
        issuer: 'https://i',
        audience: 'a',
        jwksUrl: 'http://i/jwks',
      });

    expect(create).toThrow('jwksUrl must be an https:// URL, got "http://i/jwks"');
  });

  it('fails when the lag sample interval is not a whole number of minutes', () => {
    const scope = new Stack();
    const storage = new ShoalStorage(scope, 'Storage');

    const create = () =>
      new ShoalObservability(scope, 'Observability', {
        storage,
        restApi: shoal.api.restApi,
        lagSampleInterval: Duration.seconds(90),
      });

    expect(create).toThrow(/lagSampleInterval must be a whole number of minutes .*, got 1 minute 30 seconds/);
  });

  it('fails when an access policy name is not alphanumeric', () => {
    const create = () =>
      new ShoalLog(new Stack(), 'Shoal', { accessPolicies: { 'orders-producer': ['topic:orders:Write'] } });

    expect(create).toThrow(/accessPolicies names .*got "orders-producer"/);
  });
});

import { Duration, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShoalStatelessStack } from '../../infra/shoal-api.js';
import { type ShoalStatefulStack, ShoalStorage } from '../../infra/shoal-storage.js';
import { ShoalTieredStorage } from '../../infra/shoal-tiered-storage.js';
import { ENV } from '../../shared/config.js';
import {
  PAYLOAD_KEY_PREFIX,
  payloadClassPrefix,
  RESCUE_KEY_PREFIX,
  RETENTION_CLASS_DAYS,
  RETENTION_CLASS_TAG,
  SEGMENT_KEY_PREFIX,
  UPLOAD_KEY_PREFIX,
} from '../../shared/domain/segment-keys.js';
import {
  actionsOf,
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

// Bundling is proven by the stacks' tests and `cdk synth`; this file needs the templates only.
beforeAll(() => {
  ({ stateful, stateless, statefulTemplate, statelessTemplate } = synthesizeShoalApp({ bundling: false }));
}, 120_000);

/** The statements of the inline policies of a role. */
function statementsOf(role: { node: { defaultChild?: unknown } }): PolicyStatement[] {
  const roleId = logicalIdOf(stateless, role);
  return Object.values(resourcesOf(statelessTemplate, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

/** Actions a role may take on resources whose rendering contains `resource`. */
function actionsOn(role: { node: { defaultChild?: unknown } }, resource: unknown): string[] {
  const needle = JSON.stringify(stateless.resolve(resource)).slice(1, -1);
  return statementsOf(role)
    .filter((statement) => JSON.stringify(statement.Resource).includes(needle))
    .flatMap(actionsOf);
}

/** S3 object actions a managed policy of the stateful stack allows on keys under `prefix`. */
function objectActionsUnder(policy: iam.ManagedPolicy, prefix: string): string[] {
  const resource = resourcesOf(statefulTemplate, 'AWS::IAM::ManagedPolicy')[logicalIdOf(stateful, policy)];
  if (!resource) throw new Error('The managed policy is not in the stateful stack');
  return (resource.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement.filter(
    (statement) => JSON.stringify(statement.Resource).includes(`/${prefix}*`),
  ).flatMap(actionsOf);
}

/** The roles of the stateless stack that attach a managed policy of the stateful stack. */
function rolesAttaching(policy: iam.ManagedPolicy): string[] {
  const reference = JSON.stringify(stateless.resolve(policy.managedPolicyArn));
  return Object.entries(resourcesOf(statelessTemplate, 'AWS::IAM::Role'))
    .filter(([, role]) => JSON.stringify(role.Properties.ManagedPolicyArns ?? []).includes(reference))
    .map(([id]) => id);
}

describe('tiered storage in the stateless stack', () => {
  it('runs the archiver on a one-minute schedule with an empty event and no retry', () => {
    const { archiver, schedule } = stateless.tieredStorage;

    const rule = resourcesOf(statelessTemplate, 'AWS::Events::Rule')[logicalIdOf(stateless, schedule)];

    expect(rule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [logicalIdOf(stateless, archiver.function), 'Arn'] },
          Input: '{}',
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
  });

  it('gives both functions the table and bucket names and the arm64 Node.js 22 runtime', () => {
    const functions = resourcesOf(statelessTemplate, 'AWS::Lambda::Function');

    for (const shoal of [stateless.tieredStorage.archiver, stateless.tieredStorage.rescuer]) {
      expect(functions[logicalIdOf(stateless, shoal.function)]?.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: {
            [ENV.logTableName]: stateless.resolve(stateful.storage.logTable.tableName),
            [ENV.metaTableName]: stateless.resolve(stateful.storage.metaTable.tableName),
            [ENV.segmentBucketName]: stateless.resolve(stateful.storage.segmentBucket.bucketName),
          },
        },
      });
    }
    expect(
      functions[logicalIdOf(stateless, stateless.tieredStorage.archiver.function)]?.Properties,
    ).toMatchObject({
      MemorySize: 2048,
      Timeout: 300,
    });
  });

  it('feeds the rescue only the TTL deletions of the log table stream, retried for 12 of its 24 hours, then noted', () => {
    const mappings = Object.values(resourcesOf(statelessTemplate, 'AWS::Lambda::EventSourceMapping'));
    const rescuerId = logicalIdOf(stateless, stateless.tieredStorage.rescuer.function);

    const mapping = mappings.find((candidate) =>
      JSON.stringify(candidate.Properties.FunctionName).includes(rescuerId),
    );

    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: stateless.resolve(stateful.storage.logTable.tableStreamArn),
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: -1,
      // Half the stream's retention: the failure notice comes while the records can still be replayed.
      MaximumRecordAgeInSeconds: 12 * 60 * 60,
      DestinationConfig: {
        OnFailure: {
          Destination: {
            'Fn::GetAtt': [logicalIdOf(stateless, stateless.tieredStorage.rescueFailures), 'Arn'],
          },
        },
      },
    });
    const filters =
      (mapping?.Properties.FilterCriteria as { Filters: { Pattern: string }[] } | undefined)?.Filters ?? [];
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual([
      {
        eventName: ['REMOVE'],
        userIdentity: { type: ['Service'], principalId: ['dynamodb.amazonaws.com'] },
      },
    ]);
  });

  it('lets the archiver read the log but never write it, and write the meta table', () => {
    const role = stateless.tieredStorage.archiver.role;

    const log = actionsOn(role, stateful.storage.logTable.tableArn);
    const meta = actionsOn(role, stateful.storage.metaTable.tableArn);

    expect(log).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:BatchGetItem']),
    );
    expect(log.filter((action) => DYNAMODB_WRITE_ACTIONS.includes(action))).toEqual([]);
    expect(meta).toEqual(
      expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem']),
    );
  });

  it('lets the archiver alone write and delete segments, read and delete rescued batches and read payload objects', () => {
    const policy = stateful.storage.segmentArchivePolicy;

    const segments = objectActionsUnder(policy, SEGMENT_KEY_PREFIX);
    const rescued = objectActionsUnder(policy, RESCUE_KEY_PREFIX);

    expect(segments).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject*']),
    );
    expect(segments.filter((action) => action.startsWith('s3:GetObject'))).toEqual([]);
    expect(rescued).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:DeleteObject*']));
    expect(rescued).not.toContain('s3:PutObject');
    // Batches of large appends are archived from their payload objects, which it never writes.
    const payloads = objectActionsUnder(policy, PAYLOAD_KEY_PREFIX);
    expect(payloads).toContain('s3:GetObject*');
    expect(payloads.filter((action) => /^s3:(Put|Delete)/.test(action))).toEqual([]);
    expect(rolesAttaching(policy)).toEqual([logicalIdOf(stateless, stateless.tieredStorage.archiver.role)]);
  });

  it('lets the rescue alone read partition heads, read payload objects and put rescued batches, nothing more', () => {
    const policy = stateful.storage.segmentRescuePolicy;

    const meta = actionsOn(stateless.tieredStorage.rescuer.role, stateful.storage.metaTable.tableArn);
    const rescued = objectActionsUnder(policy, RESCUE_KEY_PREFIX);

    expect(meta).toContain('dynamodb:GetItem');
    expect(meta.filter((action) => DYNAMODB_WRITE_ACTIONS.includes(action))).toEqual([]);
    expect(rescued).toContain('s3:PutObject');
    expect(rescued.filter((action) => action.startsWith('s3:Delete'))).toEqual([]);
    expect(objectActionsUnder(policy, SEGMENT_KEY_PREFIX)).toEqual([]);
    const payloads = objectActionsUnder(policy, PAYLOAD_KEY_PREFIX);
    expect(payloads).toContain('s3:GetObject*');
    expect(payloads.filter((action) => /^s3:(Put|Delete)/.test(action))).toEqual([]);
    expect(rolesAttaching(policy)).toEqual([logicalIdOf(stateless, stateless.tieredStorage.rescuer.role)]);
  });

  it('runs the reaper of deleted topics every hour with an empty event and no retry', () => {
    const { reaper, reapSchedule } = stateless.tieredStorage;

    const rule = resourcesOf(statelessTemplate, 'AWS::Events::Rule')[logicalIdOf(stateless, reapSchedule)];

    expect(rule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [logicalIdOf(stateless, reaper.function), 'Arn'] },
          Input: '{}',
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
  });

  it('lets the reaper query and delete items, and no more: it reads no record and writes nothing', () => {
    const role = stateless.tieredStorage.reaper.role;

    const log = actionsOn(role, stateful.storage.logTable.tableArn);
    const meta = actionsOn(role, stateful.storage.metaTable.tableArn);

    expect(log.sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:Query']);
    expect(meta.sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:Query']);
  });

  it('lets the reaper alone list and delete segments, rescued batches and payload objects, and read none', () => {
    const policy = stateful.storage.topicReapPolicy;
    const resource = resourcesOf(statefulTemplate, 'AWS::IAM::ManagedPolicy')[logicalIdOf(stateful, policy)];
    if (!resource) throw new Error('The reap policy is not in the stateful stack');
    const statements = (resource.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement;

    for (const prefix of [SEGMENT_KEY_PREFIX, RESCUE_KEY_PREFIX, PAYLOAD_KEY_PREFIX]) {
      expect(objectActionsUnder(policy, prefix)).toEqual(['s3:DeleteObject*']);
    }
    expect(statements.flatMap(actionsOf).filter((action) => /^s3:(Get|Put)/.test(action))).toEqual([]);
    expect(statements.find((statement) => actionsOf(statement).includes('s3:ListBucket'))).toMatchObject({
      Condition: {
        StringLike: {
          's3:prefix': [`${SEGMENT_KEY_PREFIX}*`, `${RESCUE_KEY_PREFIX}*`, `${PAYLOAD_KEY_PREFIX}*`],
        },
      },
    });
    expect(rolesAttaching(policy)).toEqual([logicalIdOf(stateless, stateless.tieredStorage.reaper.role)]);
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding in its resources', () => {
    const violations = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(
      stateless,
    ).violations;

    const findings = violations
      .flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      )
      .filter((finding) => finding.includes('/TieredStorage/'));

    expect(findings).toEqual([]);
  });
});

describe('the segment bucket lifecycle backstop', () => {
  it('expires segments and payload objects by their retention class tag, one rule per class, and never rescued batches', () => {
    const bucketId = logicalIdOf(stateful, stateful.storage.segmentBucket);
    const bucket = resourcesOf(statefulTemplate, 'AWS::S3::Bucket')[bucketId];

    const rules =
      (bucket?.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] } | undefined)
        ?.Rules ?? [];
    const expiring = rules.filter((rule) => rule.ExpirationInDays !== undefined);

    expect(expiring).toEqual([
      ...RETENTION_CLASS_DAYS.map((days) => ({
        Id: `expire-segments-${days}d`,
        Status: 'Enabled',
        Prefix: SEGMENT_KEY_PREFIX,
        TagFilters: [{ Key: RETENTION_CLASS_TAG, Value: String(days) }],
        ExpirationInDays: days,
      })),
      // Payload objects by the class in their key: no tags to pay for.
      ...RETENTION_CLASS_DAYS.map((days) => ({
        Id: `expire-payloads-${days}d`,
        Status: 'Enabled',
        Prefix: payloadClassPrefix(days),
        ExpirationInDays: days,
      })),
      // Uploads of record values go a day after they were made, used or not.
      {
        Id: 'expire-uploads',
        Status: 'Enabled',
        Prefix: UPLOAD_KEY_PREFIX,
        ExpirationInDays: 1,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      },
    ]);
    // A deleted segment is billed one more day, not thirty (issue 18): no guarantee needs more.
    expect(rules).toContainEqual({
      Id: 'expire-noncurrent-segments',
      Status: 'Enabled',
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      ExpiredObjectDeleteMarker: true,
    });
    expect(rules).toContainEqual({
      Id: 'expire-noncurrent-payloads',
      Status: 'Enabled',
      Prefix: PAYLOAD_KEY_PREFIX,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    });
  });

  it('lets the functions that append (produce, and the dispatcher for dead letters and outputs) write payload objects and uploads, and nothing else of the bucket', () => {
    const policy = stateful.storage.payloadWritePolicy;

    const payloads = objectActionsUnder(policy, PAYLOAD_KEY_PREFIX);

    expect(payloads).toContain('s3:PutObject');
    expect(payloads.filter((action) => /^s3:(Get|Delete)/.test(action))).toEqual([]);
    expect(objectActionsUnder(policy, SEGMENT_KEY_PREFIX)).toEqual([]);
    expect(objectActionsUnder(policy, RESCUE_KEY_PREFIX)).toEqual([]);
    // Uploads: signed (a presigned PUT acts with the signer's rights) and read, never deleted.
    const uploads = objectActionsUnder(policy, UPLOAD_KEY_PREFIX);
    expect(uploads).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject*']));
    expect(uploads.filter((action) => /^s3:Delete/.test(action))).toEqual([]);
    expect(rolesAttaching(policy).sort()).toEqual(
      [
        logicalIdOf(stateless, stateless.api.functions['produce-records'].role as iam.IRole),
        logicalIdOf(stateless, stateless.subscriptions.dispatcherRole),
      ].sort(),
    );
  });
});

describe('props validation', () => {
  it.each([
    [
      { archiveInterval: Duration.seconds(30) },
      /archiveInterval must be a whole number of minutes .* got 30 seconds/,
    ],
    [{ archiverMemorySize: 256 }, /archiverMemorySize must be .* got 256/],
    [
      { archiverTimeout: Duration.seconds(90) },
      /archiverTimeout must be from 2 minutes .* got 1 minute 30 seconds/,
    ],
  ])('fails when given %o', (props, message) => {
    const stack = new Stack();
    const storage = new ShoalStorage(stack, 'Storage');

    expect(() => new ShoalTieredStorage(stack, 'Tiered', { ...props, storage })).toThrow(message);
  });
});

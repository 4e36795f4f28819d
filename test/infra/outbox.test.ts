/**
 * Template assertions for `ShoalOutbox`: the event source mapping on the service's table stream
 * (INSERT only, bisect, ReportBatchItemFailures, one batch per shard, a failure queue), the relay's
 * settings, its least-privilege grants, cdk-nag, and the synth-time checks of its props.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShoalOutbox, type ShoalOutboxProps } from '../../infra/shoal-outbox.js';
import { ShoalStorage } from '../../infra/shoal-storage.js';
import { CDK_CONTEXT } from './shoal-app.js';

type CfnResource = { Type: string; Properties: Record<string, any> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

let stack: Stack;
let template: Template;
let outbox: ShoalOutbox;

/** The service's table, as a user's app declares it. */
function ordersTable(scope: Stack, id: string, stream?: dynamodb.StreamViewType): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(stream === undefined ? {} : { stream }),
  });
}

function appStack(): { stack: Stack; storage: ShoalStorage } {
  // The functions' code is not asserted here: skip esbuild.
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const created = new Stack(app, 'Orders');
  return { stack: created, storage: new ShoalStorage(created, 'Storage') };
}

beforeAll(() => {
  const built = appStack();
  stack = built.stack;
  outbox = new ShoalOutbox(stack, 'OrdersOutbox', {
    storage: built.storage,
    table: ordersTable(stack, 'OrdersTable', dynamodb.StreamViewType.NEW_IMAGE),
    topic: 'order-events',
    keyAttribute: 'orderId',
    valueAttribute: 'event',
    alarmActions: [
      new cloudwatchActions.SnsAction(
        sns.Topic.fromTopicArn(stack, 'OnCall', 'arn:aws:sns:eu-west-1:111122223333:on-call'),
      ),
    ],
  });
  template = Template.fromStack(stack);
}, 120_000);

function resourcesOf(type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

function logicalIdOf(construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('ShoalOutbox', () => {
  it('follows the table stream from its start, INSERT records only, in order per shard', () => {
    const [mapping] = Object.values(resourcesOf('AWS::Lambda::EventSourceMapping'));

    expect(mapping?.Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      ParallelizationFactor: 1,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
    });
    expect(mapping?.Properties.EventSourceArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^OrdersTable/), 'StreamArn'],
    });
  });

  it('bisects failed batches, reads batchItemFailures, and retries until the record age runs out', () => {
    const [mapping] = Object.values(resourcesOf('AWS::Lambda::EventSourceMapping'));

    expect(mapping?.Properties).toMatchObject({
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: 12 * 3600,
    });
  });

  it('notes given-up records in its encrypted failure queue', () => {
    const [mapping] = Object.values(resourcesOf('AWS::Lambda::EventSourceMapping'));
    const queueId = logicalIdOf(outbox.failureQueue);

    expect(mapping?.Properties.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
    expect(resourcesOf('AWS::SQS::Queue')[queueId]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86400,
    });
  });

  it('alarms while the failure queue holds a notice, notifying the alarm actions given', () => {
    const alarms = Object.values(resourcesOf('AWS::CloudWatch::Alarm'));

    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(outbox.failureQueue), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: ['arn:aws:sns:eu-west-1:111122223333:on-call'],
    });
  });

  it('tells the relay its topic and how to read an outbox item', () => {
    const fn = resourcesOf('AWS::Lambda::Function')[logicalIdOf(outbox.relay.function)];

    expect(fn?.Properties.Environment.Variables).toMatchObject({
      SHOAL_OUTBOX_TOPIC: 'order-events',
      SHOAL_OUTBOX_KEY_ATTRIBUTE: 'orderId',
      SHOAL_OUTBOX_VALUE_ATTRIBUTE: 'event',
      SHOAL_OUTBOX_STRING_VALUE_TYPE: 'JSON',
      SHOAL_LOG_TABLE: { Ref: expect.stringMatching(/^StorageLogTable/) },
      SHOAL_META_TABLE: { Ref: expect.stringMatching(/^StorageMetaTable/) },
      SHOAL_SEGMENT_BUCKET: { Ref: expect.stringMatching(/^StorageSegmentBucket/) },
    });
  });

  it("may read the service table's stream and nothing else of that table", () => {
    const roleId = logicalIdOf(outbox.relay.role);
    const statements = Object.values(resourcesOf('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
    const onOrders = statements.filter((statement) =>
      JSON.stringify(statement.Resource).includes('OrdersTable'),
    );

    expect(onOrders.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
    ]);
    expect(JSON.stringify(onOrders.map((statement) => statement.Resource))).toContain('StreamArn');
  });

  it('may produce: the log and meta tables, and payload objects', () => {
    const roleId = logicalIdOf(outbox.relay.role);
    const policies = JSON.stringify(
      Object.values(resourcesOf('AWS::IAM::Policy')).filter((policy) =>
        JSON.stringify(policy.Properties.Roles).includes(roleId),
      ),
    );
    const role = resourcesOf('AWS::IAM::Role')[roleId];

    expect(policies).toContain('dynamodb:PutItem');
    expect(policies).toMatch(/StorageLogTable/);
    expect(policies).toMatch(/StorageMetaTable/);
    expect(JSON.stringify(role?.Properties.ManagedPolicyArns)).toMatch(/PayloadWritePolicy/);
  });

  it('adds no cdk-nag finding of either pack, and no CDK error or warning', () => {
    const findings = [new AwsSolutionsChecks(undefined, {}), new ServerlessChecks(undefined, {})]
      .flatMap((pack) =>
        pack
          .validateScope(stack)
          .violations.flatMap((violation) =>
            violation.violatingResources.map(
              (resource) => `${violation.ruleName} at ${resource.constructPath}`,
            ),
          ),
      )
      // The storage's and the user's table findings are theirs, not the relay's.
      .filter((finding) => finding.includes('/OrdersOutbox/'));

    expect(findings).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('/Orders/OrdersOutbox/*', Match.anyValue())).toEqual([]);
  });
});

describe('ShoalOutbox props validation', () => {
  const create = (props: Partial<ShoalOutboxProps>, stream?: dynamodb.StreamViewType) => {
    const built = appStack();
    return () =>
      new ShoalOutbox(built.stack, 'Outbox', {
        storage: built.storage,
        table: ordersTable(built.stack, 'Table', stream),
        topic: 'order-events',
        keyAttribute: 'orderId',
        valueAttribute: 'event',
        ...props,
      });
  };

  it('fails when the table has no stream', () => {
    expect(create({})).toThrow(/table Orders\/Table has no stream: give it stream: StreamViewType.NEW_IMAGE/);
  });

  it('fails when the stream carries no new images', () => {
    expect(create({}, dynamodb.StreamViewType.KEYS_ONLY)).toThrow(
      /streams KEYS_ONLY: the relay reads new images/,
    );
  });

  it('fails naming each bad prop with its value', () => {
    const props = { topic: 'order events', batchSize: 0, retryAttempts: -2, maxRecordAge: Duration.days(8) };

    expect(create(props, dynamodb.StreamViewType.NEW_IMAGE)).toThrow(
      'ShoalOutbox: topic must be a topic name ([a-zA-Z0-9._-], 1 to 249 characters), got "order events"; ' +
        'batchSize must be a whole number from 1 to 10000, got 0; ' +
        'retryAttempts must be -1 or a whole number from 0 to 10000, got -2; ' +
        'maxRecordAge must be from 60 seconds to 7 days, got 8 days',
    );
  });

  it('accepts a stream of new and old images', () => {
    expect(create({}, dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)).not.toThrow();
  });
});

/**
 * Template assertions for the dispatcher, its triggers, and `ShoalEventSource`: the custom resource
 * it declares, the one grant it makes, its synth-time validation, and no dependency cycle when the
 * subscribed function lives in another stack.
 */
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  grantSubscriptionTarget,
  ShoalEventSource,
  type ShoalEventSourceProps,
} from '../../infra/shoal-event-source.js';
import { ShoalStorage } from '../../infra/shoal-storage.js';
import { type IShoalLog, ShoalSubscriptions } from '../../infra/shoal-subscriptions.js';
import { CDK_CONTEXT } from './shoal-app.js';

type CfnResource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

let shoalStack: Stack;
let appStack: Stack;
let subscriptions: ShoalSubscriptions;
let shoalTemplate: Template;
let appTemplate: Template;

/** A subscribed function, as a user's app declares it. */
function userFunction(stack: Stack, id: string): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
}

// Bundling the functions is the slow part: build the app once.
beforeAll(() => {
  const app = new App({ context: CDK_CONTEXT });
  shoalStack = new Stack(app, 'Shoal');
  const storage = new ShoalStorage(shoalStack, 'Storage');
  subscriptions = new ShoalSubscriptions(shoalStack, 'Subscriptions', { storage });
  appStack = new Stack(app, 'Billing');
  const fn = userFunction(appStack, 'Billing');
  fn.addEventSource(
    new ShoalEventSource(subscriptions, {
      topic: 'orders',
      startingPosition: lambda.StartingPosition.AT_TIMESTAMP,
      startingPositionTimestamp: 1_767_225_600,
      batchSize: 500,
      maxBatchingWindow: Duration.seconds(2),
      bisectBatchOnError: true,
      retryAttempts: 3,
      maxRecordAge: Duration.hours(6),
      reportBatchItemFailures: true,
      onFailure: { topic: 'orders-dlq' },
      outputTopic: 'invoices',
      filters: [lambda.FilterCriteria.filter({ value: { status: lambda.FilterRule.isEqual('paid') } })],
      subscriptionName: 'billing',
    }),
  );
  shoalTemplate = Template.fromStack(shoalStack);
  appTemplate = Template.fromStack(appStack);
}, 180_000);

function resourcesOf(template: Template, type: string): CfnResource[] {
  return Object.values(template.findResources(type)) as CfnResource[];
}

describe('ShoalSubscriptions', () => {
  it('wakes the dispatcher with INSERT records of the log table stream, from the latest', () => {
    const [mapping] = resourcesOf(shoalTemplate, 'AWS::Lambda::EventSourceMapping');

    expect(mapping?.Properties).toMatchObject({
      StartingPosition: 'LATEST',
      BatchSize: 1000,
      MaximumRetryAttempts: 2,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
    });
    expect(JSON.stringify(mapping?.Properties.EventSourceArn)).toContain('StreamArn');
    expect(JSON.stringify(mapping?.Properties.FunctionName)).toContain('DispatchSubscriptions');
  });

  it('sweeps every subscription every 5 minutes, without retrying a failed sweep', () => {
    shoalTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Input: '{}', RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
  });

  it('gives the dispatcher room for a subscribed function of up to 14 minutes', () => {
    shoalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Shoal dispatch-subscriptions'),
      Timeout: 900,
    });
  });

  it('grants the dispatcher no Lambda invocation by itself', () => {
    const statements = resourcesOf(shoalTemplate, 'AWS::IAM::Policy').flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    const lambdaActions = statements.flatMap((statement) =>
      ([] as string[]).concat(statement.Action).filter((action) => action.startsWith('lambda:')),
    );
    expect(lambdaActions).toEqual([]);
  });

  it('fails when the sweep interval is not a whole number of minutes', () => {
    const stack = new Stack();
    const storage = new ShoalStorage(stack, 'Storage');

    const create = () =>
      new ShoalSubscriptions(stack, 'Subscriptions', { storage, sweepInterval: Duration.seconds(30) });

    expect(create).toThrow(/sweepInterval must be a whole number of minutes .* got 30 seconds/);
  });
});

describe('ShoalEventSource', () => {
  it('declares the subscription as a custom resource with the API request, in the function’s stack', () => {
    const [resource] = resourcesOf(appTemplate, 'Custom::ShoalSubscription');
    const body = JSON.stringify(appStack.resolve(resource?.Properties.Subscription));

    expect(resource).toBeDefined();
    for (const fragment of [
      '\\"name\\":\\"billing\\"',
      '\\"topic\\":\\"orders\\"',
      '\\"startingPosition\\":\\"AT_TIMESTAMP\\"',
      '\\"startingPositionTimestamp\\":1767225600000',
      '\\"batchSize\\":500',
      '\\"maxBatchingWindowMs\\":2000',
      '\\"retryAttempts\\":3',
      '\\"maxRecordAgeMs\\":21600000',
      '\\"bisectBatchOnError\\":true',
      '\\"reportBatchItemFailures\\":true',
      '\\"onFailure\\":{\\"topic\\":\\"orders-dlq\\"}',
      '\\"outputTopic\\":\\"invoices\\"',
      '\\"functionArn\\":\\"',
    ]) {
      expect(body).toContain(fragment);
    }
    expect(body).toContain('{\\\\\\"value\\\\\\":{\\\\\\"status\\\\\\":[\\\\\\"paid\\\\\\"]}}');
    expect(JSON.stringify(resource?.Properties.ServiceToken)).toContain('SubscriptionResource');
  });

  it('lets the dispatcher invoke that function and nothing else, before the subscription exists', () => {
    const [policy] = resourcesOf(appTemplate, 'AWS::IAM::Policy').filter((candidate) =>
      JSON.stringify(candidate.Properties.PolicyDocument).includes('lambda:InvokeFunction'),
    );
    const [resourceId] = Object.keys(appTemplate.findResources('Custom::ShoalSubscription'));
    const [policyId] = Object.entries(appTemplate.findResources('AWS::IAM::Policy')).find(
      ([, candidate]) => candidate === policy,
    ) ?? [''];

    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:GetFunctionConfiguration', 'lambda:InvokeFunction'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Billing/), 'Arn'] },
      },
    ]);
    expect(JSON.stringify(policy?.Properties.Roles)).toContain('DispatchSubscriptions');
    expect(appTemplate.findResources('Custom::ShoalSubscription')[resourceId ?? '']?.DependsOn).toContain(
      policyId,
    );
  });

  it('grants a function for subscriptions made through the API the same and no more, in its own stack', () => {
    const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const shoal = new Stack(app, 'ApiShoal');
    const log = new ShoalSubscriptions(shoal, 'Subscriptions', {
      storage: new ShoalStorage(shoal, 'Storage'),
    });
    const other = new Stack(app, 'Audit');
    const fn = userFunction(other, 'Audit');

    const policy = grantSubscriptionTarget(log, fn);

    const template = Template.fromStack(other);
    const [resource] = resourcesOf(template, 'AWS::IAM::Policy');
    expect(resource?.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:GetFunctionConfiguration', 'lambda:InvokeFunction'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Audit/), 'Arn'] },
      },
    ]);
    expect(JSON.stringify(resource?.Properties.Roles)).toContain('DispatchSubscriptions');
    expect(Stack.of(policy)).toBe(other);
    // Nothing of the function reaches the Shoal stack: no cycle, however the stacks are arranged.
    expect(JSON.stringify(Template.fromStack(shoal).toJSON())).not.toContain('Audit');
  });

  it('leaves the Shoal stack free of references to the subscribed function (no cycle across stacks)', () => {
    expect(JSON.stringify(shoalTemplate.toJSON())).not.toContain('Fn::ImportValue');
    expect(shoalStack.dependencies).toEqual([]);
    expect(appStack.dependencies.map((stack) => stack.stackName)).toEqual(['Shoal']);
  });

  it('names the subscription uniquely when no name is given', () => {
    const stack = new Stack(new App(), 'Names');
    const fn = userFunction(stack, 'Fn');
    const source = new ShoalEventSource(fakeLog(stack), {
      topic: 'orders',
      startingPosition: lambda.StartingPosition.LATEST,
    });
    fn.addEventSource(source);
    fn.addEventSource(
      new ShoalEventSource(fakeLog(stack), {
        topic: 'refunds',
        startingPosition: lambda.StartingPosition.LATEST,
      }),
    );

    expect(source.subscriptionName).toMatch(/^[A-Za-z0-9-]{1,200}$/);
    expect(Object.keys(Template.fromStack(stack).findResources('Custom::ShoalSubscription'))).toHaveLength(2);
  });

  it.each<[string, Partial<ShoalEventSourceProps>, RegExp]>([
    ['batchSize is 0', { batchSize: 0 }, /batchSize: Too small: expected number to be >=1 \(given 0\)/],
    ['batchSize is above 10000', { batchSize: 10_001 }, /batchSize: .*<=10000 \(given 10001\)/],
    ['retryAttempts is -2', { retryAttempts: -2 }, /retryAttempts: .*-1 or from 0 to 10000 \(given -2\)/],
    [
      'maxBatchingWindow is over 5 minutes',
      { maxBatchingWindow: Duration.minutes(6) },
      /maxBatchingWindow \(milliseconds in the API\): .*<=300000 \(given 6 minutes\)/,
    ],
    [
      'maxRecordAge is under a minute',
      { maxRecordAge: Duration.seconds(30) },
      /maxRecordAge \(milliseconds in the API\): .*from 60000 to 604800000 \(given 30 seconds\)/,
    ],
    ['maxRecordAge is over 7 days', { maxRecordAge: Duration.days(8) }, /\(given 8 days\)/],
    [
      'AT_TIMESTAMP has no timestamp',
      { startingPosition: lambda.StartingPosition.AT_TIMESTAMP },
      /startingPositionTimestamp is required when startingPosition is AT_TIMESTAMP/,
    ],
    [
      'a timestamp comes with LATEST',
      { startingPositionTimestamp: 1_767_225_600 },
      /only be given with startingPosition AT_TIMESTAMP, not LATEST/,
    ],
    [
      'the timestamp is past the year 9999',
      { startingPosition: lambda.StartingPosition.AT_TIMESTAMP, startingPositionTimestamp: 253_402_300_800 },
      /startingPositionTimestamp \(epoch milliseconds in the API\): .*\(given 253402300800\)/,
    ],
    ['the topic name is invalid', { topic: 'orders!' }, /topic: may contain only .* \(given "orders!"\)/],
    ['the topic is named "."', { topic: '.' }, /topic: cannot be '.' or '..' \(given "."\)/],
    [
      'the dead-letter topic is the topic',
      { onFailure: { topic: 'orders' } },
      /onFailure.topic must differ from the subscribed topic 'orders'/,
    ],
    [
      'the dead-letter topic name is invalid',
      { onFailure: { topic: 'orders dlq' } },
      /onFailure.topic: may contain only .* \(given "orders dlq"\)/,
    ],
    [
      'a filter is on the key',
      { filters: [lambda.FilterCriteria.filter({ key: lambda.FilterRule.isEqual('a') })] },
      /filters\[0\].pattern: Kafka records are filtered on their value only/,
    ],
    [
      'a filter is not made by FilterCriteria',
      { filters: [{ value: ['a'] }] },
      /filters\[0\] must be made with lambda.FilterCriteria.filter/,
    ],
    [
      'there are six filters',
      {
        filters: Array.from({ length: 6 }, () =>
          lambda.FilterCriteria.filter({ value: lambda.FilterRule.isEqual('a') }),
        ),
      },
      /filters: .*<=5 items \(given 6 entries\)/,
    ],
    [
      'the output topic is the subscribed topic',
      { outputTopic: 'orders' },
      /outputTopic must differ from the subscribed topic 'orders'/,
    ],
    [
      'the output topic is the dead-letter topic',
      { outputTopic: 'orders-dlq', onFailure: { topic: 'orders-dlq' } },
      /outputTopic must differ from the dead-letter topic 'orders-dlq'/,
    ],
    [
      'the output topic name is invalid',
      { outputTopic: 'invoices!' },
      /outputTopic: may contain only .* \(given "invoices!"\)/,
    ],
    [
      'the consumer group id has a space',
      { consumerGroupId: 'my group' },
      /consumerGroupId: may contain only .* \(given "my group"\)/,
    ],
    [
      'the subscription name is longer than 249 characters',
      { subscriptionName: 'b'.repeat(250) },
      /subscriptionName: .*<=249 characters \(given "b{250}"\)/,
    ],
  ])('fails at synth time when %s', (_name, change, message) => {
    const create = () =>
      new ShoalEventSource(fakeLog(new Stack()), {
        topic: 'orders',
        startingPosition: lambda.StartingPosition.LATEST,
        ...change,
      });

    expect(create).toThrow(message);
  });

  it('fails naming every bad prop at once', () => {
    const create = () =>
      new ShoalEventSource(fakeLog(new Stack()), {
        topic: 'orders!',
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 0,
      });

    expect(create).toThrow(/topic: .*\(given "orders!"\); batchSize: .*\(given 0\)/);
  });

  it('leaves props that are tokens to the subscriptions API', () => {
    const stack = new Stack();
    const topic = new CfnParameter(stack, 'Topic').valueAsString;
    const batchSize = new CfnParameter(stack, 'BatchSize', { type: 'Number' }).valueAsNumber;

    const create = () =>
      new ShoalEventSource(fakeLog(stack), {
        topic,
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize,
        onFailure: { topic: 'orders-dlq' },
      });

    expect(create).not.toThrow();
  });

  it('adds no cdk-nag finding, CDK error or warning to either stack', () => {
    for (const stack of [shoalStack, appStack]) {
      const findings = new AwsSolutionsChecks(undefined, { verbose: true })
        .validateScope(stack)
        .violations.flatMap((violation) =>
          violation.violatingResources.map(
            (resource) => `${violation.ruleName} at ${resource.constructPath}`,
          ),
        )
        // The user's own function is the user's business.
        .filter((finding) => !finding.includes('Billing/Billing/'));
      expect(findings, stack.stackName).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue()), stack.stackName).toEqual([]);
    }
  });
});

/** A stand-in for the Shoal deployment when only the event source's own checks matter. */
function fakeLog(stack: Stack): IShoalLog {
  return {
    dispatcherRole: iam.Role.fromRoleArn(
      stack,
      `Dispatcher${stack.node.children.length}`,
      'arn:aws:iam::123456789012:role/shoal-dispatcher',
    ),
    subscriptionServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:shoal-subscription-resource',
  };
}

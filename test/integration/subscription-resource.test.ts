/**
 * The `Custom::ShoalSubscription` handler against the local tables: every request answers
 * CloudFormation, creates and deletes follow the API's rules, and an update keeps the position.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CustomResourceResponse,
  createHandler,
  type SubscriptionResourceHandler,
} from '../../functions/subscription-resource.js';
import type { SubscriptionService } from '../../shared/domain/subscription-service.js';
import { awsTargetCheck, subscriptionServicesFor } from '../../shared/subscription-services.js';
import { createTestRuntime } from '../support/local-aws.js';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:billing';
let handler: SubscriptionResourceHandler;
let service: SubscriptionService;
const sent: { url: string; response: CustomResourceResponse }[] = [];

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'subs-cfn' });
  const respond = async (url: string, response: CustomResourceResponse) => {
    sent.push({ url, response });
  };
  handler = createHandler(runtime, { respond, checkTarget: awsTargetCheck });
  service = subscriptionServicesFor(runtime, { checkTarget: awsTargetCheck }).subscriptions;
  const { createHandler: createTopics } = await import('../../functions/manage-topics.js');
  const topicsHandler = createTopics(runtime);
  for (const name of ['orders', 'refunds']) {
    const answer = await topicsHandler({
      httpMethod: 'POST',
      resource: '/v1/topics',
      path: '/v1/topics',
      body: JSON.stringify({ name, partitions: 2 }),
      headers: { 'content-type': 'application/json' },
    } as never);
    expect(answer.statusCode).toBe(201);
  }
});

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  subscription: Record<string, unknown>,
  physicalId?: string,
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:shoal-subscription-resource',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/signed',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1',
    RequestId: `request-${sent.length}`,
    LogicalResourceId: 'Subscription',
    ResourceType: 'Custom::ShoalSubscription',
    ResourceProperties: { ServiceToken: 'token', Subscription: JSON.stringify(subscription) },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: physicalId ?? '',
      OldResourceProperties: { ServiceToken: 'token' },
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalId ?? '' };
}

const billing = { name: 'billing', topic: 'orders', target: { functionArn: FUNCTION_ARN }, batchSize: 50 };

describe('the subscription resource', () => {
  it('creates the subscription and answers CloudFormation with its name as the physical id', async () => {
    const response = await handler(event('Create', billing));

    expect(response).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'billing',
      LogicalResourceId: 'Subscription',
    });
    expect(sent.at(-1)).toEqual({
      url: 'https://cloudformation-custom-resource-response.example/signed',
      response,
    });
    expect(response.Data?.ConsumerGroupId).toBe('billing');
    expect((await service.get('billing')).batchSize).toBe(50);
  });

  it('updates settings in place, keeping the incarnation and so the position', async () => {
    const before = await service.get('billing');

    const response = await handler(
      event('Update', { ...billing, batchSize: 200, bisectBatchOnError: true }, 'billing'),
    );

    expect(response.Status).toBe('SUCCESS');
    const after = await service.get('billing');
    expect(after).toMatchObject({
      batchSize: 200,
      bisectBatchOnError: true,
      subscriptionId: before.subscriptionId,
    });
  });

  it('replaces the subscription when its topic changes', async () => {
    const before = await service.get('billing');

    const response = await handler(event('Update', { ...billing, topic: 'refunds' }, 'billing'));

    expect(response.Status).toBe('SUCCESS');
    const after = await service.get('billing');
    expect(after.topic).toBe('refunds');
    expect(after.subscriptionId).not.toBe(before.subscriptionId);
  });

  it('deletes the subscription, and answers success for one that is already gone', async () => {
    expect((await handler(event('Delete', billing, 'billing'))).Status).toBe('SUCCESS');
    await expect(service.get('billing')).rejects.toThrow(/does not exist/);
    expect((await handler(event('Delete', billing, 'billing'))).Status).toBe('SUCCESS');
  });

  it('fails with the field in the reason, and an id whose delete is a no-op, when the request is invalid', async () => {
    const response = await handler(event('Create', { ...billing, name: 'invalid', batchSize: 0 }));

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^Subscription\.batchSize: /);
    expect(response.PhysicalResourceId).toMatch(/^failed-/);
    expect((await handler(event('Delete', billing, response.PhysicalResourceId))).Status).toBe('SUCCESS');
  });

  it('fails with the reason when the topic does not exist', async () => {
    const response = await handler(event('Create', { ...billing, name: 'lost', topic: 'nope' }));

    expect(response).toMatchObject({ Status: 'FAILED', Reason: "Topic 'nope' does not exist" });
  });

  it('fails when the target is a module, which only the local stack can run', async () => {
    const response = await handler(
      event('Create', { ...billing, name: 'modular', target: { module: 'x.ts' } }),
    );

    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('local stack only');
  });
});

/**
 * Lambda entry of the `Custom::ShoalSubscription` resource that `ShoalEventSource` declares: creates,
 * updates and deletes the subscription with the same rules as the API (the same zod schema and
 * service), and answers CloudFormation at the pre-signed `ResponseURL`, whatever happens, so a stack
 * never hangs on it.
 *
 * Properties: `Subscription`, the API's create request as JSON text (CloudFormation turns every
 * other property value into a string). The physical id is the subscription name.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import type { CoreRuntime } from '../shared/core-runtime.js';
import { InvalidRequestError, SubscriptionNotFoundError } from '../shared/domain/errors.js';
import type { Subscription } from '../shared/domain/subscription.js';
import type { SubscriptionService, TargetCheck } from '../shared/domain/subscription-service.js';
import { problemFor } from '../shared/http/problem.js';
import { CreateSubscriptionRequest, toSubscriptionInput } from '../shared/http/subscription-schemas.js';
import { createLogger } from '../shared/observability/logger.js';
import { withSourceMappedErrors } from '../shared/observability/source-maps.js';
import { getDefaultRuntime } from '../shared/runtime.js';
import { subscriptionServicesFor } from '../shared/subscription-services.js';

const logger = createLogger();

/** What CloudFormation is told. */
export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export type SubscriptionResourceHandler = (
  event: CloudFormationCustomResourceEvent,
  context?: Pick<Context, 'logStreamName'>,
) => Promise<CustomResourceResponse>;

/** Sends the response to CloudFormation's pre-signed S3 URL. */
export type Responder = (url: string, response: CustomResourceResponse) => Promise<void>;

const putResponse: Responder = async (url, response) => {
  const body = JSON.stringify(response);
  const answer = await fetch(url, {
    method: 'PUT',
    // The URL is signed for an empty content type.
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  if (!answer.ok) throw new Error(`CloudFormation's response URL answered ${answer.status}`);
};

/** The subscription a request's properties describe. @throws InvalidRequestError naming the field */
function requested(event: CloudFormationCustomResourceEvent) {
  const text = (event.ResourceProperties as { Subscription?: unknown }).Subscription;
  let json: unknown;
  try {
    json = typeof text === 'string' ? JSON.parse(text) : text;
  } catch (error) {
    throw new Error(`The Subscription property is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = CreateSubscriptionRequest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Subscription.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return toSubscriptionInput(parsed.data);
}

async function apply(
  subscriptions: SubscriptionService,
  event: CloudFormationCustomResourceEvent,
): Promise<{ physicalId: string; subscription?: Subscription }> {
  switch (event.RequestType) {
    case 'Create': {
      const subscription = await subscriptions.create(requested(event));
      return { physicalId: subscription.name, subscription };
    }
    case 'Update': {
      const input = requested(event);
      // A new name is a new resource: CloudFormation deletes the old one after this succeeds.
      if (input.name !== event.PhysicalResourceId) {
        const subscription = await subscriptions.create(input);
        return { physicalId: subscription.name, subscription };
      }
      const current = await subscriptions.get(input.name).catch((error: unknown) => {
        if (error instanceof SubscriptionNotFoundError) return undefined;
        throw error;
      });
      // Another topic or group is another subscription under the same name: replace it in place.
      if (
        !current ||
        current.topic !== input.topic ||
        current.consumerGroupId !== (input.consumerGroupId ?? input.name)
      ) {
        if (current) await subscriptions.delete(input.name);
        const subscription = await subscriptions.create(input);
        return { physicalId: subscription.name, subscription };
      }
      return { physicalId: input.name, subscription: await subscriptions.update(input) };
    }
    case 'Delete':
      try {
        await subscriptions.delete(event.PhysicalResourceId);
      } catch (error) {
        // Never created (a failed Create), or deleted by hand: gone either way.
        if (!(error instanceof SubscriptionNotFoundError) && !(error instanceof InvalidRequestError))
          throw error;
      }
      return { physicalId: event.PhysicalResourceId };
  }
}

/** `respond` and `checkTarget` are for tests. */
export function createHandler(
  runtime: CoreRuntime,
  options: { readonly respond?: Responder; readonly checkTarget?: TargetCheck } = {},
): SubscriptionResourceHandler {
  const respond = options.respond ?? putResponse;
  const { subscriptions } = subscriptionServicesFor(
    runtime,
    options.checkTarget ? { checkTarget: options.checkTarget } : {},
  );
  return async (event, context) => {
    const base = {
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    let response: CustomResourceResponse;
    try {
      const { physicalId, subscription } = await apply(subscriptions, event);
      response = {
        ...base,
        Status: 'SUCCESS',
        PhysicalResourceId: physicalId,
        ...(subscription
          ? {
              Data: {
                SubscriptionId: subscription.subscriptionId,
                ConsumerGroupId: subscription.consumerGroupId,
              },
            }
          : {}),
      };
    } catch (error) {
      // Mistakes in the request are shown; anything else is logged and reported without internals.
      const problem = problemFor(error);
      const shown =
        problem?.detail ??
        (error instanceof Error && error.message.startsWith('Subscription') ? error.message : undefined);
      if (!shown)
        logger.error('Subscription resource request failed', {
          error: error as Error,
          event: event.RequestType,
        });
      response = {
        ...base,
        Status: 'FAILED',
        Reason:
          shown ??
          `Shoal could not ${event.RequestType.toLowerCase()} the subscription; see log stream ${context?.logStreamName ?? 'of the function'}`,
        // A failed Create gets an id that names nothing, so its Delete is a no-op.
        PhysicalResourceId:
          event.RequestType === 'Create' ? `failed-${event.RequestId}` : event.PhysicalResourceId,
      };
    }
    await respond(event.ResponseURL, response);
    return response;
  };
}

let built: SubscriptionResourceHandler | undefined;

export const handler: SubscriptionResourceHandler = withSourceMappedErrors(async (event, context) => {
  built ??= createHandler(getDefaultRuntime());
  return built(event, context);
});

/** Lambda entry for subscriptions: create, list, describe (lag, errors, dead letters) and delete. */
import type { CoreRuntime } from '../shared/core-runtime.js';
import type { TargetCheck } from '../shared/domain/subscription-service.js';
import { createHttpHandler, parseBody, parsePathParameter } from '../shared/http/http-handler.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { renderSubscription, renderSubscriptionDescription } from '../shared/http/render-subscriptions.js';
import {
  CreateSubscriptionRequest,
  SubscriptionName,
  toSubscriptionInput,
} from '../shared/http/subscription-schemas.js';
import { getDefaultRuntime } from '../shared/runtime.js';
import { subscriptionServicesFor } from '../shared/subscription-services.js';

/** `checkTarget` is for tests; by default module targets are accepted on the local stack only. */
export function createHandler(
  runtime: CoreRuntime,
  options: { readonly checkTarget?: TargetCheck } = {},
): HttpHandler {
  const { subscriptions } = subscriptionServicesFor(runtime, options);
  return createHttpHandler(
    'manage-subscriptions',
    {
      createSubscription: async (request) => {
        const body = parseBody(CreateSubscriptionRequest, request);
        return {
          status: 201,
          body: renderSubscription(await subscriptions.create(toSubscriptionInput(body))),
        };
      },
      listSubscriptions: async () => ({
        status: 200,
        body: { subscriptions: (await subscriptions.list()).map(renderSubscription) },
      }),
      describeSubscription: async (request) => {
        const name = parsePathParameter(SubscriptionName, request, 'name');
        return { status: 200, body: renderSubscriptionDescription(await subscriptions.describe(name)) };
      },
      deleteSubscription: async (request) => {
        await subscriptions.delete(parsePathParameter(SubscriptionName, request, 'name'));
        return { status: 204 };
      },
    },
    { telemetry: runtime.telemetry },
  );
}

/** With the S3 client: starting AT_TIMESTAMP and an archived record's age read the log's segments. */
export const handler = lazyHandler(() => createHandler(getDefaultRuntime()));

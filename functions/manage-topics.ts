/** Lambda entry for health, the OpenAPI document and topic administration. */
import { type CoreRuntime, getDefaultCoreRuntime, noBucket } from '../shared/core-runtime.js';
import { createHttpHandler, parseBody, parsePathParameter } from '../shared/http/http-handler.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { openApiDocument } from '../shared/http/openapi.js';
import { renderTopic, renderTopicSummary } from '../shared/http/render.js';
import { CreateTopicRequest, TopicName, UpdateTopicRequest } from '../shared/http/schemas.js';
import { servicesFor } from '../shared/services.js';

export function createHandler(runtime: CoreRuntime): HttpHandler {
  const { topics } = servicesFor(runtime);
  return createHttpHandler(
    'manage-topics',
    {
      getHealth: async () => ({ status: 200, body: { status: 'ok' } }),
      getOpenApi: async () => ({ status: 200, body: openApiDocument() }),
      createTopic: async (request) => {
        const body = parseBody(CreateTopicRequest, request);
        const created = await topics.create(withoutUndefined(body));
        return {
          status: 201,
          body: renderTopic(created),
          headers: { location: `/v1/topics/${encodeURIComponent(body.name)}` },
        };
      },
      listTopics: async () => ({
        status: 200,
        body: { topics: (await topics.list()).map(renderTopicSummary) },
      }),
      describeTopic: async (request) => {
        const name = parsePathParameter(TopicName, request, 'topic');
        return { status: 200, body: renderTopic(await topics.describe(name)) };
      },
      updateTopic: async (request) => {
        const name = parsePathParameter(TopicName, request, 'topic');
        const body = parseBody(UpdateTopicRequest, request);
        return { status: 200, body: renderTopic(await topics.update(name, withoutUndefined(body))) };
      },
      deleteTopic: async (request) => {
        await topics.delete(parsePathParameter(TopicName, request, 'topic'));
        return { status: 204 };
      },
    },
    { telemetry: runtime.telemetry },
  );
}

/** Drops the fields a request left out (zod keeps them as undefined; the domain's inputs are exact). */
function withoutUndefined<T extends object>(body: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** Topics live in the tables; the role has no access to the segment bucket (`FUNCTION_ACCESS`). */
export const handler = lazyHandler(() =>
  createHandler(getDefaultCoreRuntime(() => noBucket('manage-topics'))),
);

/**
 * Lambda entry of the watch WebSocket API (routes `$connect`, `$disconnect`, `$default`): a
 * connection names the topics it reads and is told when their high watermarks move, and a group
 * member may heartbeat over it, so an idle consumer pays for a few WebSocket messages instead of
 * long polls (see `shared/http/watch-schemas.ts` for the messages, `docs/consumer-groups.md` for
 * the costs). Every answer goes down the connection through the poster; the route's own answer is
 * only the status API Gateway expects.
 */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { type CoreRuntime, getDefaultCoreRuntime, noBucket } from '../shared/core-runtime.js';
import { problemFor } from '../shared/http/problem.js';
import { WatchClientMessage } from '../shared/http/watch-schemas.js';
import { createLogger } from '../shared/observability/logger.js';
import { withSourceMappedErrors } from '../shared/observability/source-maps.js';
import { servicesFor } from '../shared/services.js';
import { watchPosterFor, watchServiceFor } from '../shared/watch-services.js';

const logger = createLogger();

/** The largest message the function reads (a watch of 32 topics of 249 characters fits well). */
const MESSAGE_BYTES_MAX = 16 * 1024;

/** The part of API Gateway's WebSocket event the handler reads. */
export type WatchEvent = Pick<APIGatewayProxyWebsocketEventV2, 'body'> & {
  readonly requestContext: Pick<
    APIGatewayProxyWebsocketEventV2['requestContext'],
    'connectionId' | 'eventType'
  >;
};

export type WatchHandler = (event: WatchEvent) => Promise<{ statusCode: number }>;

export function createHandler(runtime: CoreRuntime, poster = watchPosterFor(runtime)): WatchHandler {
  if (poster === undefined) throw new Error('The watch API needs SHOAL_WATCH_ENDPOINT to answer connections');
  const watches = watchServiceFor(runtime);
  const { groups } = servicesFor(runtime);
  const answer = (connectionId: string, message: unknown) =>
    poster.post(connectionId, JSON.stringify(message)).then(() => undefined);

  const handle = async (connectionId: string, message: WatchClientMessage): Promise<void> => {
    if (message.action === 'watch') {
      const topics = await watches.watch(connectionId, message.topics);
      await answer(connectionId, {
        type: 'watching',
        topics: topics.map(({ topic, partitions }) => ({ topic, partitions })),
      });
      return;
    }
    const { group, memberId, generation } = message;
    const current = await groups.heartbeat(group, memberId, generation);
    if (current.generation !== generation) {
      await answer(connectionId, { type: 'generation', group, generation: current.generation });
    }
  };

  return async (event) => {
    const { connectionId, eventType } = event.requestContext;
    if (eventType !== 'MESSAGE') return { statusCode: 200 };
    const body = event.body ?? '';
    const parsed =
      body.length > MESSAGE_BYTES_MAX ? undefined : WatchClientMessage.safeParse(parseJson(body));
    if (!parsed?.success) {
      await answer(connectionId, {
        type: 'problem',
        action: 'unknown',
        status: 400,
        error_code: 400,
        title: 'Invalid message',
        detail: parsed ? parsed.error.issues.map((issue) => issue.message).join('; ') : 'Message too large',
      });
      return { statusCode: 400 };
    }
    try {
      await handle(connectionId, parsed.data);
      return { statusCode: 200 };
    } catch (error) {
      const problem = problemFor(error);
      if (!problem) {
        logger.error('Watch message failed', { action: parsed.data.action, error: error as Error });
        throw error;
      }
      await answer(connectionId, {
        type: 'problem',
        action: parsed.data.action,
        status: problem.status,
        error_code: problem.errorCode,
        title: problem.title,
        detail: problem.detail,
      });
      return { statusCode: problem.status };
    }
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

let built: WatchHandler | undefined;

export const handler: WatchHandler = withSourceMappedErrors(async (event) => {
  // Watches and heartbeats: the role has no access to the segment bucket.
  built ??= createHandler(getDefaultCoreRuntime(() => noBucket('watch-topics')));
  return built(event);
});

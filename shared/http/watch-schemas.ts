/**
 * The messages of the watch WebSocket (`/v1/watch` on the local stack, the watch API's URL in AWS),
 * JSON text frames both ways. Client to server:
 * - `{"action":"watch","topics":["orders"]}`: tell me when these topics' high watermarks move;
 *   answered at once with their current marks (a `watching` message), then `heads` messages.
 * - `{"action":"heartbeat","group","memberId","generation"}`: a group heartbeat (as the REST
 *   heartbeat); answered only when the generation changed or the heartbeat failed, so an idle
 *   member pays for one message per heartbeat, not two.
 *
 * Server to client: `watching`, `heads` (`shared/domain/topic-watch.ts`), `generation`, `problem`.
 */
import * as z from 'zod';
import { WATCH_LIMITS } from '../domain/topic-watch.js';
import { GroupName, MemberId, TopicName } from './schemas.js';

const Generation = z.number().int().min(0).meta({ description: 'The generation the member holds' });

export const WatchRequest = z
  .strictObject({ action: z.literal('watch'), topics: z.array(TopicName).min(1).max(WATCH_LIMITS.topicsMax) })
  .meta({ id: 'WatchRequest' });

export const WatchHeartbeatRequest = z
  .strictObject({
    action: z.literal('heartbeat'),
    group: GroupName,
    memberId: MemberId,
    generation: Generation,
  })
  .meta({ id: 'WatchHeartbeatRequest' });

/** Every message a client may send. */
export const WatchClientMessage = z.discriminatedUnion('action', [WatchRequest, WatchHeartbeatRequest]);

const PartitionMarks = z.array(
  z.object({ partition: z.number().int().min(0), highWatermark: z.number().int().min(0) }),
);

/** A message the server sends: its `type`, its fields, documented under `id`. */
const serverMessage = <Shape extends z.ZodRawShape>(id: string, description: string, shape: Shape) =>
  z.object(shape).meta({ id, description });

export const HeadsMessageSchema = serverMessage(
  'WatchHeadsMessage',
  'These partitions have records up to these high watermarks',
  { type: z.literal('heads'), topic: TopicName, partitions: PartitionMarks },
);

export const WatchingMessageSchema = serverMessage(
  'WatchingMessage',
  "The answer to a watch: the topics' high watermarks now",
  {
    type: z.literal('watching'),
    topics: z.array(z.object({ topic: TopicName, partitions: PartitionMarks })),
  },
);

export const GenerationMessageSchema = serverMessage(
  'WatchGenerationMessage',
  'A heartbeat found a new generation: heartbeat over HTTP',
  { type: z.literal('generation'), group: GroupName, generation: Generation },
);

export const WatchProblemMessageSchema = serverMessage(
  'WatchProblemMessage',
  'A message failed (bad message, unknown topic, fenced heartbeat...)',
  {
    type: z.literal('problem'),
    action: z.string(),
    status: z.number().int(),
    error_code: z.number().int(),
    title: z.string(),
    detail: z.string(),
  },
);

export type WatchClientMessage = z.infer<typeof WatchClientMessage>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/**
 * The watch WebSocket in the OpenAPI document (`x-shoal-watch`): OpenAPI describes no WebSocket, so
 * the document names its messages, whose schemas are among its components.
 */
export const WATCH_API_DOCUMENT = {
  url: '/v1/watch on the local stack; the WatchUrl output (wss://) of a deployed stack',
  protocol: 'WebSocket, one JSON object per text frame',
  authorization: 'SigV4 on the connection request, as the REST API (none on the local stack)',
  description:
    'Idle consumers watch the topics they read instead of long polling: a watch is answered with every ' +
    "partition's high watermark (WatchingMessage) and then a WatchHeadsMessage follows each append. " +
    'Notifications carry no records and may be lost: renew the watch (every minute) to catch up, and fetch ' +
    'over HTTP. A heartbeat over the WebSocket is answered only when the generation changed or it failed.',
  clientMessages: [ref('WatchRequest'), ref('WatchHeartbeatRequest')],
  serverMessages: [
    ref('WatchingMessage'),
    ref('WatchHeadsMessage'),
    ref('WatchGenerationMessage'),
    ref('WatchProblemMessage'),
  ],
} as const;

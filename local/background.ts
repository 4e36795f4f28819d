/**
 * The local stack's stand-ins for what AWS runs beside the API: a timer for the scheduled
 * archiver, and a follower of the log table's stream (DynamoDB Local implements Streams) that
 * invokes a handler with Lambda's DynamoDB stream event, as an event source mapping does.
 *
 * DynamoDB Local differs from the service in one way that matters here (checked with DynamoDB
 * Local 3.3.0): a deletion by TTL arrives with the event name `UNKNOWN_TO_SDK_VERSION` and no
 * `userIdentity`. The follower reports it the way AWS does: a `REMOVE` by
 * `{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }`.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { isStaleIterator } from '../shared/adapters/sdk-errors.js';
import type { Runtime } from '../shared/runtime.js';

/** Longest pause of the stream follower after repeated failures. */
const ERROR_BACKOFF_MS_MAX = 5_000;

/** Something started in the background; `stop` waits for the work in progress. */
export interface BackgroundTask {
  stop(): Promise<void>;
}

/**
 * Calls `run` every `intervalMs`, never two at once (a slow run delays the next). Failures are
 * reported to `onError` and the timer goes on.
 */
export function startTimer(
  run: () => Promise<unknown>,
  intervalMs: number,
  onError: (error: unknown) => void,
): BackgroundTask {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = run()
      .then(
        () => undefined,
        (error: unknown) => onError(error),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Options of {@link followStream}. */
export interface StreamFollowerOptions {
  /** Where to begin in shards that exist at start (new shards always start at their beginning). @default 'TRIM_HORIZON' */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Pause between polls when there was nothing to read. @default 250 */
  readonly idlePollMs?: number;
  /** Records per handler invocation (Lambda's BatchSize). @default 100 */
  readonly batchSize?: number;
  /** Only records passing this reach the handler (Lambda's filter criteria). */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  readonly onError?: (error: unknown) => void;
}

/** A DynamoDB stream handler, as a Lambda function receives events. */
export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

interface ShardState {
  readonly shard: Shard;
  iterator?: string;
  /** The sequence number to resume at after a failure, instead of the iterator. */
  retryAt?: string;
  /** The last record handed over (and handled). */
  lastSequence?: string;
  done: boolean;
}

/** What the follower's steps share once the stream is known. */
interface FollowerContext {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: StreamHandler;
  readonly options: StreamFollowerOptions;
  readonly onError: (error: unknown) => void;
}

/**
 * Follows the stream of `tableName` until stopped, handing each page of records to `handler` in
 * shard order (a child shard only after its parent is done). A handler that throws, or reports
 * `batchItemFailures`, gets the records again from the first failed one: at-least-once, in order,
 * as with Lambda's event source mapping.
 */
export function followStream(
  runtime: Runtime,
  tableName: string,
  handler: StreamHandler,
  options: StreamFollowerOptions = {},
): BackgroundTask {
  const idlePollMs = options.idlePollMs ?? 250;
  const onError = options.onError ?? ((error: unknown) => console.error('[shoal] stream follower:', error));
  const streams = createStreamsClient(runtime);
  let stopped = false;
  let wake: (() => void) | undefined;

  const loop = async () => {
    const streamArn = await streamArnOf(runtime, tableName);
    const context: FollowerContext = { streams, streamArn, handler, options, onError };
    const shards = new Map<string, ShardState>();
    // Only shards of the first listing begin at the chosen position; later ones are new.
    let startingPosition: ShardIteratorType = options.startingPosition ?? 'TRIM_HORIZON';
    let failures = 0;
    while (!stopped) {
      let busy = false;
      try {
        await addNewShards(context, shards, startingPosition);
        startingPosition = 'TRIM_HORIZON';
        for (const state of shards.values()) {
          if (stopped) break;
          if (!isReady(shards, state)) continue;
          busy = (await pollShard(context, state)) || busy;
        }
        failures = 0;
      } catch (error) {
        // Report each failure, but back off while they repeat (DynamoDB Local restarting, say).
        onError(error);
        failures++;
      }
      if (!busy && !stopped) {
        const pauseMs = Math.min(ERROR_BACKOFF_MS_MAX, idlePollMs * 2 ** Math.min(failures, 10));
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pauseMs);
        });
      }
    }
  };

  const running = loop().catch(onError);
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await running;
      streams.destroy();
    },
  };
}

/** A streams client for the runtime's DynamoDB endpoint, with its credentials. */
function createStreamsClient(runtime: Runtime): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    region: runtime.config.region,
    ...(runtime.config.dynamodbEndpoint ? { endpoint: runtime.config.dynamodbEndpoint } : {}),
    credentials: () => runtime.dynamodb.config.credentials(),
  });
}

/** The ARN of the table's stream; fails when the table has none. */
async function streamArnOf(runtime: Runtime, tableName: string): Promise<string> {
  const described = await runtime.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = described.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`Table ${tableName} has no stream`);
  return streamArn;
}

/** Adds the shards the stream lists that are not followed yet, each with an iterator of `type`. */
async function addNewShards(
  context: FollowerContext,
  shards: Map<string, ShardState>,
  type: ShardIteratorType,
): Promise<void> {
  const listing = await context.streams.send(new DescribeStreamCommand({ StreamArn: context.streamArn }));
  for (const shard of listing.StreamDescription?.Shards ?? []) {
    if (!shard.ShardId || shards.has(shard.ShardId)) continue;
    const state: ShardState = { shard, done: false };
    state.iterator = await iteratorFor(context, state, type);
    shards.set(shard.ShardId, state);
  }
}

/** True when the shard has records left to read and its parent, if followed, is done. */
function isReady(shards: ReadonlyMap<string, ShardState>, state: ShardState): boolean {
  const parent = state.shard.ParentShardId ? shards.get(state.shard.ParentShardId) : undefined;
  return !(state.done || (parent && !parent.done));
}

async function iteratorFor(
  context: FollowerContext,
  state: ShardState,
  type: ShardIteratorType,
  sequence?: string,
): Promise<string | undefined> {
  const answer = await context.streams.send(
    new GetShardIteratorCommand({
      StreamArn: context.streamArn,
      ShardId: state.shard.ShardId,
      ShardIteratorType: type,
      ...(sequence === undefined ? {} : { SequenceNumber: sequence }),
    }),
  );
  return answer.ShardIterator;
}

/** Reads one page of a shard and hands it over; true when records were read. */
async function pollShard(context: FollowerContext, state: ShardState): Promise<boolean> {
  if (state.retryAt !== undefined) {
    state.iterator = await iteratorFor(context, state, 'AT_SEQUENCE_NUMBER', state.retryAt);
    state.retryAt = undefined;
  }
  if (state.iterator === undefined) {
    state.done = true;
    return false;
  }
  const page = await readPage(context, state, state.iterator);
  if (page === undefined) return false;
  const records = (page.Records ?? []).map(toLambdaRecord(context.streamArn));
  const failedAt = await handOver(context, records);
  if (failedAt !== undefined) {
    state.retryAt = failedAt;
    return false;
  }
  state.lastSequence = page.Records?.at(-1)?.dynamodb?.SequenceNumber ?? state.lastSequence;
  state.iterator = page.NextShardIterator;
  if (state.iterator === undefined) state.done = true;
  return records.length > 0;
}

/** One page of a shard; undefined when the iterator was stale (the shard then has a fresh one). */
async function readPage(
  context: FollowerContext,
  state: ShardState,
  iterator: string,
): Promise<GetRecordsCommandOutput | undefined> {
  try {
    return await context.streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: context.options.batchSize ?? 100 }),
    );
  } catch (error) {
    if (!isStaleIterator(error)) throw error;
    // DynamoDB Local refuses some TRIM_HORIZON iterators taken while a shard was empty (and
    // iterators expire after 15 minutes): take a fresh one after the last record handled.
    state.iterator =
      state.lastSequence === undefined
        ? await iteratorFor(context, state, 'TRIM_HORIZON')
        : await iteratorFor(context, state, 'AFTER_SEQUENCE_NUMBER', state.lastSequence);
    return undefined;
  }
}

/**
 * Hands the records the filter passes to the handler; returns the sequence number to resume at
 * when the handler failed (threw, or reported `batchItemFailures`), undefined when it succeeded.
 */
async function handOver(context: FollowerContext, records: DynamoDBRecord[]): Promise<string | undefined> {
  const { filter } = context.options;
  const delivered = filter ? records.filter(filter) : records;
  if (delivered.length === 0) return undefined;
  try {
    const answer = await context.handler({ Records: delivered });
    return answer?.batchItemFailures?.[0]?.itemIdentifier;
  } catch (error) {
    context.onError(error);
    return delivered[0]?.dynamodb?.SequenceNumber;
  }
}

/** Lambda's record shape: epoch seconds, base64 binaries, and TTL deletions marked as AWS marks them. */
function toLambdaRecord(streamArn: string) {
  return (record: StreamRecord): DynamoDBRecord => {
    const stream = record.dynamodb;
    const isKnown =
      record.eventName === 'INSERT' || record.eventName === 'MODIFY' || record.eventName === 'REMOVE';
    const removedByTtl = !isKnown && stream?.OldImage !== undefined && stream.NewImage === undefined;
    const identity =
      record.userIdentity ??
      (removedByTtl ? { type: 'Service', principalId: 'dynamodb.amazonaws.com' } : undefined);
    return {
      eventID: record.eventID,
      eventName: removedByTtl ? 'REMOVE' : (record.eventName as DynamoDBRecord['eventName']),
      eventVersion: record.eventVersion,
      eventSource: record.eventSource,
      awsRegion: record.awsRegion,
      eventSourceARN: streamArn,
      ...(identity ? { userIdentity: identity } : {}),
      dynamodb: {
        ...(stream?.ApproximateCreationDateTime
          ? { ApproximateCreationDateTime: Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000) }
          : {}),
        ...(stream?.Keys ? { Keys: toLambdaImage(stream.Keys) } : {}),
        ...(stream?.NewImage ? { NewImage: toLambdaImage(stream.NewImage) } : {}),
        ...(stream?.OldImage ? { OldImage: toLambdaImage(stream.OldImage) } : {}),
        ...(stream?.SequenceNumber ? { SequenceNumber: stream.SequenceNumber } : {}),
        ...(stream?.SizeBytes === undefined ? {} : { SizeBytes: stream.SizeBytes }),
        ...(stream?.StreamViewType ? { StreamViewType: stream.StreamViewType } : {}),
      },
    };
  };
}

/** An SDK attribute map in Lambda's JSON form (binaries as base64). */
function toLambdaImage(image: Record<string, unknown>): { [key: string]: AttributeValue } {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]));
}

function toLambdaValue(value: unknown): AttributeValue {
  const attribute = value as Record<string, unknown>;
  if (attribute.B instanceof Uint8Array) return { B: Buffer.from(attribute.B).toString('base64') };
  if (Array.isArray(attribute.BS)) {
    return { BS: (attribute.BS as Uint8Array[]).map((bytes) => Buffer.from(bytes).toString('base64')) };
  }
  if (Array.isArray(attribute.L)) return { L: attribute.L.map(toLambdaValue) };
  if (attribute.M !== undefined) return { M: toLambdaImage(attribute.M as Record<string, unknown>) };
  return attribute as AttributeValue;
}

/** The filter of the rescue's event source: deletions by DynamoDB's TTL, nothing else. */
export function isTtlRemoval(record: DynamoDBRecord): boolean {
  return record.eventName === 'REMOVE' && record.userIdentity?.principalId === 'dynamodb.amazonaws.com';
}

/** One consumer of the log table's stream: what its event source mapping's filter passes, and its handler. */
export interface StreamConsumer {
  readonly filter: (record: DynamoDBRecord) => boolean;
  // biome-ignore lint/suspicious/noConfusingVoidType: consumers that report nothing return void
  readonly consume: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined | void>;
}

/**
 * One follower for several consumers, as several event source mappings on one stream in AWS: each
 * consumer gets the records its filter passes, in order. A consumer that fails (throws, or reports
 * `batchItemFailures`) makes the follower resume at the earliest failed record, for every consumer:
 * they must take records again (the rescue stores idempotently, the dispatcher is only woken).
 */
export function fanOut(
  consumers: readonly StreamConsumer[],
  onError: (error: unknown) => void = (error) => console.error('[shoal] stream consumer:', error),
): StreamHandler {
  return async (event) => {
    let earliest: number | undefined;
    for (const consumer of consumers) {
      const records = event.Records.filter(consumer.filter);
      if (records.length === 0) continue;
      let failed: string | undefined;
      try {
        failed = (await consumer.consume({ Records: records }))?.batchItemFailures?.[0]?.itemIdentifier;
      } catch (error) {
        onError(error);
        failed = records[0]?.dynamodb?.SequenceNumber;
      }
      if (failed === undefined) continue;
      const index = event.Records.findIndex((record) => record.dynamodb?.SequenceNumber === failed);
      if (index >= 0) earliest = Math.min(earliest ?? index, index);
    }
    const itemIdentifier =
      earliest === undefined ? undefined : event.Records[earliest]?.dynamodb?.SequenceNumber;
    return { batchItemFailures: itemIdentifier === undefined ? [] : [{ itemIdentifier }] };
  };
}

/** Options of {@link startTieredStorage}. */
export interface TieredStorageTaskOptions {
  /** How often the archiver runs (`SHOAL_ARCHIVE_INTERVAL_MS`). */
  readonly archiveIntervalMs: number;
  /** How often the reaper of deleted topics runs. @default 60_000 */
  readonly reapIntervalMs?: number;
  /** Other consumers of the log table's stream (the dispatcher), served by the same follower. */
  readonly streamConsumers?: readonly StreamConsumer[];
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs the archiver and the reaper of deleted topics on timers and the TTL rescue on the log table's
 * stream, with the very handlers of `functions/archive-segments.ts`, `functions/reap-topics.ts` and
 * `functions/rescue-batches.ts`; the stream's other consumers share its follower.
 */
export async function startTieredStorage(
  runtime: Runtime,
  options: TieredStorageTaskOptions,
): Promise<BackgroundTask> {
  const onError = options.onError ?? ((error: unknown) => console.error('[shoal] tiered storage:', error));
  const archive = await import('../functions/archive-segments.js');
  const rescue = await import('../functions/rescue-batches.js');
  const reap = await import('../functions/reap-topics.js');
  // Every partition in every run: locally a run is cheap, and an append is archived without delay.
  const archiveHandler = archive.createHandler(runtime, { archiver: { idleCheckMsMax: 0 } });
  const rescueHandler = rescue.createHandler(runtime);
  const reapHandler = reap.createHandler(runtime);
  const timer = startTimer(() => archiveHandler({}), options.archiveIntervalMs, onError);
  const reapTimer = startTimer(() => reapHandler({}), options.reapIntervalMs ?? 60_000, onError);
  const follower = followStream(
    runtime,
    runtime.config.logTableName,
    fanOut([{ filter: isTtlRemoval, consume: rescueHandler }, ...(options.streamConsumers ?? [])], onError),
    { onError },
  );
  return {
    stop: async () => {
      await Promise.all([timer.stop(), reapTimer.stop(), follower.stop()]);
    },
  };
}

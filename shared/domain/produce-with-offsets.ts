/**
 * Produce with offsets: records appended to one or more topics and a consumer group's committed
 * offsets, in one DynamoDB transaction (guarantee 10). A consume-transform-produce loop that sends
 * its output this way, with the offsets of the input it consumed, emits each output once: a crash
 * before the transaction leaves neither the output nor the commit, a crash after leaves both, and a
 * member fenced by a rebalance (a zombie) writes nothing at all.
 *
 * The loop is the produce loop (`log-service.ts`) with the commit's fencing (`group-offsets.ts`)
 * decided again at each attempt: read the heads, settle earlier attempts whose outcome is unknown,
 * load the group (a stale generation or a lost partition is a `FencedError`, 409), check the offsets
 * against their high watermarks, place the records after the heads and write it all on condition.
 */
import { createHash, randomUUID } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import type { OffsetCommit } from '../ports/group-store.js';
import type {
  AppendWithCommitRequest,
  PartitionHead,
  TopicAppend,
  TransactionalLog,
} from '../ports/partition-log.js';
import { backoffMs } from './backoff.js';
import {
  IdempotencyKeyReusedError,
  InvalidRequestError,
  LimitExceededError,
  OffsetRegressionError,
  RetryableError,
  TopicNotFoundError,
} from './errors.js';
import { validateGroupName } from './group.js';
import {
  type CheckedOffset,
  type CommitInput,
  checkedOffsets,
  committerOf,
  validateCommit,
} from './group-offsets.js';
import { type GroupDependencies, loadGroup } from './group-view.js';
import { LIMITS } from './limits.js';
import { type AppendLayout, hashProduceRequest } from './log-service.js';
import { checkCommitTransaction, placeRecords } from './produce-plan.js';
import type { ProduceRecord, ProduceRecordInput, RecordPosition } from './record.js';
import { isUploadReference } from './record-uploads.js';
import type { Topic } from './topic.js';

/** The records a transaction appends to one topic. */
export interface TransactionTopicInput {
  readonly topic: string;
  readonly records: readonly ProduceRecordInput[];
}

/** A commit (member and generation, or neither for a standalone consumer) with the records to append. */
export interface ProduceWithOffsetsInput extends CommitInput {
  /** At least one topic, each named once. */
  readonly topics: readonly TransactionTopicInput[];
}

export interface ProduceWithOffsetsResult {
  readonly group: string;
  /** The generation the offsets were committed in. */
  readonly generation: number;
  /** In request order; each topic's positions in the order of its records. */
  readonly topics: readonly { readonly topic: string; readonly records: readonly RecordPosition[] }[];
  readonly offsets: readonly { topic: string; partition: number; offset: number }[];
  /** True when an Idempotency-Key matched an earlier request and nothing was written. */
  readonly duplicate: boolean;
}

/** What the transaction needs: the group's dependencies and the log that writes both at once. */
export interface TransactionDependencies extends GroupDependencies {
  readonly transactional: TransactionalLog;
}

/** One topic of a transaction, resolved and laid out. */
interface PlannedTopic {
  readonly topic: Topic;
  readonly layout: AppendLayout;
  /** The partitions written, in the order of `layout.chunks`. */
  readonly partitions: readonly number[];
}

/** An attempt that did not report success and may still have applied. */
interface FailedAttempt {
  readonly request: AppendWithCommitRequest;
  readonly result: ProduceWithOffsetsResult;
}

/**
 * Appends the records of every topic and commits the offsets, all or nothing. With an
 * `idempotencyKey` (scoped to the group), a repeat of the same request within the window writes
 * nothing and returns the first answer, even after the group moved on.
 *
 * @throws FencedError (a stale generation, a partition the member does not own, a member gone),
 *   GroupNotEmptyError (a standalone commit while the group has members), InvalidCommitOffsetError
 *   (an offset above its high watermark), OffsetRegressionError, TopicNotFoundError,
 *   PartitionNotFoundError, InvalidRequestError, LimitExceededError, IdempotencyKeyReusedError,
 *   RetryableError
 */
export async function produceWithOffsets(
  deps: TransactionDependencies,
  group: string,
  input: ProduceWithOffsetsInput,
  idempotencyKey?: string,
): Promise<ProduceWithOffsetsResult> {
  validateGroupName(group);
  validateCommit(input);
  validateTopics(input.topics);
  const requestHash = idempotencyKey === undefined ? '' : hashTransaction(group, input);
  const planned: PlannedTopic[] = [];
  for (const entry of input.topics) {
    const topic = await deps.topics.get(entry.topic);
    if (!topic) throw new TopicNotFoundError(entry.topic);
    const layout = deps.log.layOut(topic, entry.records as readonly ProduceRecord[]);
    planned.push({ topic, layout, partitions: layout.chunks.map((chunk) => chunk.partition) });
  }
  const commitItems = 1 + (input.memberId === undefined ? 0 : 1) + input.offsets.length;
  checkCommitTransaction(
    planned.map((entry) => entry.layout.chunks),
    commitItems,
    idempotencyKey,
  );
  return appendLoop(deps, group, input, planned, idempotencyKey, requestHash);
}

/** @throws InvalidRequestError, LimitExceededError */
function validateTopics(topics: readonly TransactionTopicInput[]): void {
  if (topics.length === 0) throw new InvalidRequestError('topics must name at least one topic', 'topics');
  if (topics.length > LIMITS.transactionTopicsMax) {
    throw new LimitExceededError(
      `One transaction writes to at most ${LIMITS.transactionTopicsMax} topics, got ${topics.length}`,
      'transactionTopics',
      topics.length,
      LIMITS.transactionTopicsMax,
    );
  }
  const seen = new Set<string>();
  let records = 0;
  for (const [index, entry] of topics.entries()) {
    if (seen.has(entry.topic)) {
      throw new InvalidRequestError(
        `topics[${index}]: ${entry.topic} appears twice; put all its records in one entry`,
        `topics[${index}]`,
      );
    }
    seen.add(entry.topic);
    if (entry.records.length === 0) {
      throw new InvalidRequestError(
        `topics[${index}].records must hold at least one record`,
        `topics[${index}]`,
      );
    }
    records += entry.records.length;
    if (entry.records.some((record) => isUploadReference(record.value))) {
      throw new InvalidRequestError(
        `topics[${index}]: a transaction takes values inline only, not uploads; produce a value this large on its own`,
        `topics[${index}]`,
      );
    }
  }
  if (records > LIMITS.recordsPerRequestMax) {
    throw new LimitExceededError(
      `A transaction holds at most ${LIMITS.recordsPerRequestMax} records over all its topics, got ${records}`,
      'recordsPerRequest',
      records,
      LIMITS.recordsPerRequestMax,
    );
  }
}

/** The optimistic loop: place after fresh heads, fence by the group read now, write on condition. */
async function appendLoop(
  deps: TransactionDependencies,
  group: string,
  input: ProduceWithOffsetsInput,
  planned: readonly PlannedTopic[],
  idempotencyKey: string | undefined,
  requestHash: string,
): Promise<ProduceWithOffsetsResult> {
  let unresolved: FailedAttempt[] = [];
  for (let attempt = 1; attempt <= LIMITS.appendAttemptsMax; attempt++) {
    const settled = await settle(deps, planned, unresolved);
    if (settled.landed) return settled.landed;
    unresolved = settled.pending;

    const view = await loadGroup(deps, group);
    let committer: Awaited<ReturnType<typeof committerOf>>;
    let offsets: CheckedOffset[];
    try {
      committer = await committerOf(deps, group, view, input);
      offsets = committer ? await checkedOffsets(deps, input.offsets) : [];
    } catch (error) {
      // A retry of a request that applied before the group moved on (a rebalance fences the
      // member now) answers as the first attempt did: the key decides, not the group's state.
      const replayed = await replayStored(deps, view.record?.groupId, idempotencyKey, requestHash);
      if (replayed) return replayed;
      throw error;
    }
    if (committer) {
      const heads = await readHeads(deps, planned);
      const { request, result } = transaction(deps, group, planned, heads, committer, offsets, {
        idempotencyKey,
        requestHash,
      });
      const outcome = await deps.transactional.appendWithCommit(request);
      switch (outcome.kind) {
        case 'appended':
          return result;
        case 'idempotency-key-exists': {
          const replayed = await replayStored(deps, committer.record.groupId, idempotencyKey, requestHash);
          if (replayed) return replayed;
          break; // expired between the two reads: try again
        }
        case 'regressed': {
          // Our own earlier attempt may have landed and moved the offset: settle before refusing.
          const again = await settle(deps, planned, unresolved);
          if (again.landed) return again.landed;
          const offset = offsets[outcome.index];
          const current = offset && (await deps.groups.readOffset(group, offset.topic, offset.partition));
          throw new OffsetRegressionError(
            group,
            offset?.topic ?? '',
            offset?.partition ?? 0,
            offset?.offset ?? 0,
            current?.offset,
          );
        }
        case 'head-moved':
        case 'unknown':
          unresolved.push({ request, result });
          break;
        default:
          // generation-changed, member-gone: the next attempt's group read decides (409, or a retry).
          break;
      }
    }
    await deps.clock.sleep(backoffMs(attempt, deps.clock.random));
  }
  const settled = await settle(deps, planned, unresolved);
  if (settled.landed) return settled.landed;
  throw new RetryableError(
    `Gave up on the transaction of group '${group}' after ${LIMITS.appendAttemptsMax} attempts: other writers kept winning the race`,
    'contention',
    1,
  );
}

/**
 * The first answer stored under the Idempotency-Key for the group incarnation `groupId`, or
 * undefined when there is no key or nothing live is stored under it.
 *
 * @throws IdempotencyKeyReusedError when the stored request differs from this one
 */
async function replayStored(
  deps: TransactionDependencies,
  groupId: string | undefined,
  idempotencyKey: string | undefined,
  requestHash: string,
): Promise<ProduceWithOffsetsResult | undefined> {
  if (idempotencyKey === undefined || groupId === undefined) return undefined;
  const earlier = await deps.transactional.readCommitIdempotency(groupId, idempotencyKey, deps.clock.now());
  if (!earlier) return undefined;
  if (earlier.requestHash !== requestHash) throw new IdempotencyKeyReusedError(idempotencyKey);
  return { ...deserializeTransactionResult(earlier.response), duplicate: true };
}

/**
 * The heads of every planned topic's partitions, strongly consistent, in the plan's order.
 * @throws TopicNotFoundError when a topic was deleted since it was read (its heads are tombstones)
 */
async function readHeads(
  deps: TransactionDependencies,
  planned: readonly PlannedTopic[],
): Promise<PartitionHead[][]> {
  return Promise.all(
    planned.map(async (entry) => {
      const heads = await deps.partitionLog.readHeads(entry.topic, entry.partitions);
      if (heads.some((head) => head.deleted)) throw new TopicNotFoundError(entry.topic.name);
      return heads;
    }),
  );
}

/** One attempt's request and the answer it gives if it applies. */
function transaction(
  deps: TransactionDependencies,
  group: string,
  planned: readonly PlannedTopic[],
  heads: readonly PartitionHead[][],
  committer: NonNullable<Awaited<ReturnType<typeof committerOf>>>,
  offsets: readonly CheckedOffset[],
  idempotency: { idempotencyKey: string | undefined; requestHash: string },
): { request: AppendWithCommitRequest; result: ProduceWithOffsetsResult } {
  const now = deps.clock.now();
  const { record, member } = committer;
  const appends: TopicAppend[] = [];
  const topics: ProduceWithOffsetsResult['topics'][number][] = [];
  planned.forEach((entry, index) => {
    const expectedHeads = heads[index] ?? [];
    const { layout } = entry;
    const placed = placeRecords(entry.topic, expectedHeads, layout.chunks, layout.stamped, layout.appendTime);
    appends.push({ topic: entry.topic, expectedHeads, batches: placed.batches });
    topics.push({ topic: entry.topic.name, records: placed.positions });
  });
  const commit: OffsetCommit = {
    group,
    groupId: record.groupId,
    generation: record.generation,
    member: member && {
      memberId: member.memberId,
      lastHeartbeat: now,
      deadline: now + member.sessionTimeoutMs,
      seenGeneration: record.generation,
    },
    offsets: offsets.map((offset) => ({ ...offset, committedAt: now })),
    now,
  };
  const result: ProduceWithOffsetsResult = {
    group,
    generation: record.generation,
    topics,
    offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
    duplicate: false,
  };
  const appendTime = planned[0]?.layout.appendTime ?? now;
  const request: AppendWithCommitRequest = {
    appendId: randomUUID(),
    appends,
    commit,
    ...(idempotency.idempotencyKey === undefined
      ? {}
      : {
          idempotency: {
            key: idempotency.idempotencyKey,
            requestHash: idempotency.requestHash,
            response: serializeTransactionResult(result),
            expiresAt: appendTime + LIMITS.idempotencyWindowMs,
          },
        }),
  };
  return { request, result };
}

/**
 * Settles failed attempts against fresh heads of their first partition. An attempt whose head has
 * moved past the offset it expected either applied (its batch carries its append id: the whole
 * transaction applied with it) or never will; one whose head has not moved has not applied yet.
 */
async function settle(
  deps: TransactionDependencies,
  planned: readonly PlannedTopic[],
  attempts: readonly FailedAttempt[],
): Promise<{ landed?: ProduceWithOffsetsResult; pending: FailedAttempt[] }> {
  const first = planned[0];
  if (attempts.length === 0 || !first) return { pending: [] };
  const [partition] = first.partitions;
  const [current] = await deps.partitionLog.readHeads(first.topic, [partition ?? 0]);
  const pending: FailedAttempt[] = [];
  for (const attempt of attempts) {
    const append = attempt.request.appends[0];
    const expected = append?.expectedHeads[0];
    const batch = append?.batches[0];
    if (!append || !expected || !batch) continue;
    if (!current || current.highWatermark === expected.highWatermark) {
      pending.push(attempt);
    } else if (await deps.partitionLog.appendLanded(append.topic, attempt.request.appendId, batch)) {
      return { landed: attempt.result, pending: [] };
    }
  }
  return { pending };
}

/**
 * A fingerprint of the whole request: the group, the committer, each topic's records (as
 * `hashProduceRequest` fingerprints a produce) and the offsets with their metadata.
 */
export function hashTransaction(group: string, input: ProduceWithOffsetsInput): string {
  const hash = createHash('sha256');
  const field = (text: string) => {
    hash.update(`${Buffer.byteLength(text, 'utf8')}:`);
    hash.update(text, 'utf8');
  };
  field(group);
  field(input.memberId ?? '');
  field(String(input.generation ?? ''));
  field(String(input.topics.length));
  for (const entry of input.topics) field(hashProduceRequest(entry.topic, entry.records));
  field(String(input.offsets.length));
  for (const offset of input.offsets) {
    field(offset.topic);
    field(String(offset.partition));
    field(String(offset.offset));
    field(offset.metadata === undefined ? '\u0000' : `=${offset.metadata}`);
  }
  return hash.digest('base64url');
}

/** The answer kept with the Idempotency-Key: compact JSON, compressed. */
export function serializeTransactionResult(result: ProduceWithOffsetsResult): Uint8Array {
  const stored: StoredTransactionResult = {
    g: result.group,
    n: result.generation,
    t: result.topics.map((entry) => ({
      n: entry.topic,
      r: entry.records.map((position) => [position.partition, position.offset, position.timestamp]),
    })),
    o: result.offsets.map((offset) => [offset.topic, offset.partition, offset.offset]),
  };
  return brotliCompressSync(Buffer.from(JSON.stringify(stored), 'utf8'));
}

export function deserializeTransactionResult(data: Uint8Array): Omit<ProduceWithOffsetsResult, 'duplicate'> {
  const stored = JSON.parse(brotliDecompressSync(data).toString('utf8')) as StoredTransactionResult;
  return {
    group: stored.g,
    generation: stored.n,
    topics: stored.t.map((entry) => ({
      topic: entry.n,
      records: entry.r.map(([partition, offset, timestamp]) => ({ partition, offset, timestamp })),
    })),
    offsets: stored.o.map(([topic, partition, offset]) => ({ topic, partition, offset })),
  };
}

interface StoredTransactionResult {
  readonly g: string;
  readonly n: number;
  readonly t: { readonly n: string; readonly r: [number, number, number][] }[];
  readonly o: [string, number, number][];
}

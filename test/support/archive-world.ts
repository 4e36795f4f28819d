/**
 * A topic on the in-memory ports with a manual clock, for the archiver's unit tests: produce and
 * fetch through LogService (so segments are proved readable the way a consumer reads them), and
 * thin wrappers around the in-memory ports that count calls or let a rival act at a chosen moment.
 */
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { Archiver, type ArchiverOptions } from '../../shared/domain/archiver.js';
import { BatchRescuer } from '../../shared/domain/archiver-rescue.js';
import type { Clock } from '../../shared/domain/clock.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { ProduceRecordInput } from '../../shared/domain/record.js';
import { RESCUE_KEY_PREFIX, rescueKey } from '../../shared/domain/segment-keys.js';
import { SegmentReader } from '../../shared/domain/segment-reader.js';
import type { Topic, TopicConfigInput } from '../../shared/domain/topic.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { HeadConsistency, PartitionHead, StoredEncodedBatch } from '../../shared/ports/partition-log.js';
import type { RecordSegmentOutcome, RescuedBatch, SegmentEntry } from '../../shared/ports/segment-archive.js';
import { manualClock } from './manual-clock.js';

export const T0 = 1_800_000_000_000;

/** The hot tier, counting its reads; `onReadHeads` runs after every head read (a clock that moves). */
export class CountingLog extends MemoryPartitionLog {
  readonly headReads: { partitions: readonly number[]; consistency: HeadConsistency | undefined }[] = [];
  readonly batchReads: { partition: number; fromOffset: number }[] = [];
  onReadHeads: (() => void) | undefined;
  failReadHeadsOf: string | undefined;

  override async readHeads(
    topic: Topic,
    partitions: readonly number[],
    consistency?: HeadConsistency,
  ): Promise<PartitionHead[]> {
    if (topic.name === this.failReadHeadsOf) throw new Error('DynamoDB is down for this topic');
    this.headReads.push({ partitions, consistency });
    const heads = await super.readHeads(topic, partitions);
    this.onReadHeads?.();
    return heads;
  }

  override async readEncodedBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { batchesMax: number; bytesMax: number },
  ): Promise<StoredEncodedBatch[]> {
    this.batchReads.push({ partition, fromOffset });
    return super.readEncodedBatches(topic, partition, fromOffset, limits);
  }
}

/**
 * The manifest, with a hook that runs before a segment is recorded (a rival archiver, the TTL
 * deleting a batch), outcomes answered instead of recording (a produce holding the head), and a
 * crash after logStartOffset moved.
 */
export class HookedManifest extends MemorySegmentManifest {
  beforeRecord: (() => Promise<void>) | undefined;
  /** Answered, in order, instead of recording the next segments (nothing is applied); undefined records. */
  readonly answers: (RecordSegmentOutcome | undefined)[] = [];
  readonly recordCalls: SegmentEntry[] = [];
  refuseAdvance = false;
  failRemoveOnce = false;

  override async recordSegment(
    topic: Topic,
    partition: number,
    entry: SegmentEntry,
    floor: number,
  ): Promise<RecordSegmentOutcome> {
    this.recordCalls.push(entry);
    const hook = this.beforeRecord;
    this.beforeRecord = undefined;
    await hook?.();
    const answer = this.answers.shift();
    if (answer) return answer;
    return super.recordSegment(topic, partition, entry, floor);
  }

  override async advanceLogStartOffset(
    topic: Topic,
    partition: number,
    expected: number,
    next: number,
    releasedBytes: number,
  ): Promise<boolean> {
    if (this.refuseAdvance) return false;
    return super.advanceLogStartOffset(topic, partition, expected, next, releasedBytes);
  }

  override async removeSegments(topic: Topic, partition: number, removed: readonly SegmentEntry[]) {
    if (this.failRemoveOnce) {
      this.failRemoveOnce = false;
      throw new Error('crashed before removing the entries');
    }
    return super.removeSegments(topic, partition, removed);
  }
}

/**
 * The bucket, counting the listings of rescued batches and the retags.
 *
 * It also deletes a rescued batch when its key is deleted, as S3 does (a rescued batch is an object
 * under `rescue/`): `MemorySegmentObjects.deleteObjects` forgets only segment and payload objects,
 * and the contract suite does not check the rescue keys, so the archiver's cleanup of rescued
 * batches would look like a no-op in memory (reported to the lead; the adapter is not this area's).
 */
export class CountingObjects extends MemorySegmentObjects {
  rescueListings = 0;
  readonly retagged: string[] = [];
  failDeleteOnce = false;
  private readonly deletedRescues = new Set<string>();

  override async listRescued(topicId: string, partition: number, belowOffset: number, limit: number) {
    this.rescueListings++;
    const all = await super.listRescued(topicId, partition, belowOffset, Number.MAX_SAFE_INTEGER);
    return all
      .filter((offset) => !this.deletedRescues.has(rescueKey(topicId, partition, offset)))
      .slice(0, limit);
  }

  override async putRescued(topicId: string, partition: number, batch: RescuedBatch): Promise<void> {
    this.deletedRescues.delete(rescueKey(topicId, partition, batch.baseOffset));
    return super.putRescued(topicId, partition, batch);
  }

  override async getRescued(topicId: string, partition: number, baseOffset: number) {
    if (this.deletedRescues.has(rescueKey(topicId, partition, baseOffset))) return undefined;
    return super.getRescued(topicId, partition, baseOffset);
  }

  override async deleteObjects(keys: readonly string[]): Promise<void> {
    if (this.failDeleteOnce) {
      this.failDeleteOnce = false;
      throw new Error('crashed before deleting the objects');
    }
    for (const key of keys) if (key.startsWith(RESCUE_KEY_PREFIX)) this.deletedRescues.add(key);
    return super.deleteObjects(keys);
  }

  override async tagSegment(key: string, tags: Readonly<Record<string, string>>): Promise<void> {
    this.retagged.push(key);
    return super.tagSegment(key, tags);
  }
}

/** Bytes that do not compress (a seeded generator), so that batch sizes follow record sizes. */
export function noise(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

export const WAIT_NONE = { recordsMax: 10_000, bytesMax: 100_000_000, waitMs: 0 };

export interface ArchiveWorld {
  readonly clock: Clock & { advance(ms: number): void };
  /** What `clock.random()` answers (the jitter of idle checks, the shuffle of a run). */
  readonly random: { value: number };
  readonly topics: MemoryTopicStore;
  readonly log: CountingLog;
  readonly manifest: HookedManifest;
  readonly objects: CountingObjects;
  readonly service: LogService;
  readonly topicService: TopicService;
  readonly rescuer: BatchRescuer;
  archiver(options?: ArchiverOptions): Archiver;
  /** The stored topic, as a run reads it (after an update, its new config). */
  topic(name?: string): Promise<Topic>;
  /** One produce request of `values` (one batch) to `partition`; `timestamp` sets the records'. */
  produce(values: readonly string[], partition?: number, timestamp?: number, name?: string): Promise<void>;
  /** One produce of one record of `bytes` incompressible bytes; answers its value as fetchValues reads it. */
  produceBytes(bytes: number, seed: number, partition?: number): Promise<string>;
  /** Every value of a partition from logStartOffset on (as latin1 text), read through LogService (both tiers). */
  fetchValues(partition?: number, name?: string): Promise<string[]>;
  /** Every batch DynamoDB holds of a partition. */
  hotBatches(partition?: number): Promise<StoredEncodedBatch[]>;
  /** What DynamoDB's TTL does at `now`, then what the stream rescue does with the deletions. */
  expireAndRescue(now: number, rescue?: (batch: StoredEncodedBatch) => boolean): Promise<number>;
  head(partition?: number, name?: string): Promise<PartitionHead>;
  entries(partition?: number, name?: string): Promise<SegmentEntry[]>;
}

export async function archiveWorld(
  config: TopicConfigInput = {},
  partitions = 1,
  start = T0,
): Promise<ArchiveWorld> {
  const manual = manualClock(start);
  const random = { value: 0 };
  const clock = { ...manual, random: () => random.value };
  const topics = new MemoryTopicStore();
  const log = new CountingLog({ now: clock.now });
  const manifest = new HookedManifest(log.heads);
  const objects = new CountingObjects();
  const service = new LogService(topics, log, clock, new SegmentReader(manifest, objects));
  const topicService = new TopicService(topics, log, clock);
  const rescuer = new BatchRescuer(manifest, objects);
  await topicService.create({ name: 't', partitions, ...config });
  const topic = async (name = 't') => {
    const found = await topics.get(name);
    if (!found) throw new Error(`no topic ${name}`);
    return found;
  };
  const encoder = new TextEncoder();
  const record = (value: Uint8Array, partition: number, timestamp?: number): ProduceRecordInput => ({
    key: null,
    value: { type: 'BINARY', bytes: value },
    headers: [],
    partition,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
  return {
    clock,
    random,
    topics,
    log,
    manifest,
    objects,
    service,
    topicService,
    rescuer,
    archiver: (options = {}) => new Archiver(topics, log, manifest, objects, clock, options),
    topic,
    produce: async (values, partition = 0, timestamp, name = 't') => {
      await service.produce(
        name,
        values.map((value) => record(encoder.encode(value), partition, timestamp)),
      );
    },
    produceBytes: async (bytes, seed, partition = 0) => {
      const value = noise(bytes, seed);
      await service.produce('t', [record(value, partition)]);
      return Buffer.from(value).toString('latin1');
    },
    fetchValues: async (partition = 0, name = 't') => {
      const values: string[] = [];
      let offset = (await topicHead(log, await topic(name), partition)).logStartOffset;
      for (;;) {
        const page = await service.fetch(name, partition, offset, WAIT_NONE);
        values.push(...page.records.map((r) => Buffer.from(r.value?.bytes ?? []).toString('latin1')));
        if (page.nextOffset >= page.highWatermark) return values;
        offset = page.nextOffset;
      }
    },
    hotBatches: async (partition = 0) =>
      log.readEncodedBatches(await topic(), partition, 0, { batchesMax: 1_000_000, bytesMax: 1e12 }),
    expireAndRescue: async (now, rescue = () => true) => {
      const deleted = log.deleteExpired(now);
      const kept = deleted.filter(({ batch }) => rescue(batch));
      await rescuer.rescue(
        kept.map(({ topicId, partition, batch }) => ({
          topicId,
          partition,
          baseOffset: batch.baseOffset,
          lastOffset: batch.lastOffset,
          maxTimestampSoFar: batch.maxTimestampSoFar,
          data: batch.data,
        })),
      );
      return deleted.length;
    },
    head: async (partition = 0, name = 't') => topicHead(log, await topic(name), partition),
    entries: async (partition = 0, name = 't') => manifest.segmentsFrom(await topic(name), partition, 0, 1e6),
  };
}

async function topicHead(log: MemoryPartitionLog, topic: Topic, partition: number): Promise<PartitionHead> {
  const [head] = await log.readHeads(topic, [partition]);
  if (!head) throw new Error('no head');
  return head;
}

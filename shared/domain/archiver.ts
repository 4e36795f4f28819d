/**
 * The archiver: rolls contiguous runs of a partition's batches from DynamoDB into S3 segments,
 * records them in the manifest, and applies retention. It runs on a schedule (a timer on the local
 * stack); every step is safe to repeat, to interrupt and to run twice at once.
 *
 * One segment, step by step:
 *
 * ```
 *  1. read head (archivedOffset = ao) and the batches from ao       DynamoDB (+ rescued batches)
 *  2. decide the roll (segmentBytes, segmentMs, a TTL coming due)   pure: planSegment
 *  3. PUT segments/<topic>/<p>/<ao>-<last>.seg                      S3: the object exists, unreferenced
 *  4. transact: ao := last + 1 IF ao unchanged, + manifest entry    DynamoDB: now it is archived
 *  5. only now may DynamoDB's TTL delete the batches for good       (their TTL was set at append)
 *
 *  crash after 3: an orphan object; the next run writes the same key again (same range) or a
 *                 longer range beside it; nothing points at the orphan, nothing is lost
 *  lose at 4:     another archiver recorded first; ours is deleted unless it is the very same key
 *  TTL before 4:  the batch reaches the stream; the rescue stores it under rescue/, where step 1
 *                 (and any fetch) finds it
 * ```
 */
import assert from 'node:assert/strict';
import type { PartitionHead, PartitionLog, StoredEncodedBatch } from '../ports/partition-log.js';
import type {
  RecordSegmentOutcome,
  SegmentEntry,
  SegmentManifest,
  SegmentObjects,
} from '../ports/segment-archive.js';
import type { TopicStore } from '../ports/topic-store.js';
import { ByteBudget } from './byte-budget.js';
import { type Clock, systemClock } from './clock.js';
import { LIMITS } from './limits.js';
import { planRetention, retentionApplies } from './retention.js';
import {
  type EncodedBatch,
  encodeSegment,
  FRAME_HEADER_BYTES_MAX,
  INDEX_INTERVAL_BYTES_DEFAULT,
} from './segment-format.js';
import { rescueKey, retentionClassDays, retentionClassTags, segmentKey } from './segment-keys.js';
import type { Topic, TopicConfig } from './topic.js';

/** Limits of an {@link Archiver}. */
export interface ArchiverOptions {
  /** Segments one partition may roll in one run. @default 16 */
  readonly segmentsPerPartitionMax?: number;
  /** Batches in one segment (bounds the archiver's memory with tiny batches). @default 100000 */
  readonly batchesPerSegmentMax?: number;
  /** Partitions archived at the same time. @default 4 */
  readonly concurrency?: number;
  /** A run starts no partition after this long (keep it below the Lambda timeout). @default 60000 */
  readonly runMsMax?: number;
  /**
   * Roll a run early when the TTL of one of its batches is due within this long, so that the
   * stream rescue stays a last resort. @default 600000 (10 minutes)
   */
  readonly expiryMarginMs?: number;
  /** Spacing of segment index entries. @default 32 KiB */
  readonly indexIntervalBytes?: number;
  /** Segment entries retention reads per partition and run. @default 64 */
  readonly retentionEntriesMax?: number;
  /** Segments retagged per partition and run after a retention increase. @default 256 */
  readonly retagEntriesMax?: number;
  /** Rescued batches listed (and cleaned up) after a segment that may have needed them. @default 1000 */
  readonly rescueCleanupMax?: number;
  /**
   * The longest a partition that had nothing to do is left unread by the runs of this process: a
   * run reads the heads of due partitions only (one BatchGetItem per topic), and works on those with
   * something to archive, retention that is due, or segments to retag. A partition is due again after
   * a quarter of its topic's `segmentMs` or `localRetentionMs`, whichever is shorter, at most this
   * long: an append to an idle partition is so archived at most this long after its segment is due,
   * and long before its TTL. 0 reads every partition in every run.
   * @default 0
   */
  readonly idleCheckMsMax?: number;
  /**
   * Bytes of batches and segments the partitions archived at the same time may hold together:
   * each reserves {@link segmentWorkingBytes} of its topic (its batches plus the segment encoded
   * from them) before reading, and waits while the others hold the rest, so `concurrency`
   * partitions at the largest `segmentBytes` cannot outgrow the function's memory. In Lambda,
   * 60% of the function's memory (`functions/archive-segments.ts`).
   * @default 1 GiB
   */
  readonly workingBytesMax?: number;
}

/**
 * The largest stored batch: a record stored apart (`recordBytesMax`) with its key, headers and
 * framing; batches kept in items are far smaller.
 */
const STORED_BATCH_BYTES_MAX = LIMITS.recordBytesMax + LIMITS.recordInlineBytesMax;

/**
 * What archiving one segment of `topic` may hold at once: the candidate batches (up to
 * `segmentBytes`, plus the batch that crosses it) and the segment encoded from them (a copy of the
 * same bytes with frames and an index, which stay under a batch's worth).
 */
export function segmentWorkingBytes(topic: Pick<Topic, 'config'>): number {
  return 2 * (topic.config.segmentBytes + STORED_BATCH_BYTES_MAX);
}

/** Why a run of batches was rolled into a segment. */
export type RollReason = 'size' | 'time' | 'expiry';

/** A batch that may go into a segment. */
export interface CandidateBatch extends EncodedBatch {
  /**
   * Its TTL in DynamoDB (epoch ms); undefined when unknown; 0 when it was rescued (gone from
   * DynamoDB already, so its run rolls at once).
   */
  readonly expiresAt: number | undefined;
  /** Read from the rescue area, not from DynamoDB. */
  readonly rescued: boolean;
}

/** The first `batchCount` candidates make a segment, for `reason`. */
export interface SegmentPlan {
  readonly batchCount: number;
  readonly reason: RollReason;
}

/** What one run did to one partition. */
export interface PartitionArchiveReport {
  readonly topic: string;
  readonly partition: number;
  segments: number;
  records: number;
  batches: number;
  /** Stored batch bytes copied into segments. */
  batchBytes: number;
  /** Bytes uploaded (batches, frames, indexes). */
  objectBytes: number;
  rescuedBatches: number;
  /** Segments another archiver recorded first. */
  lostRaces: number;
  deletedSegments: number;
  retaggedSegments: number;
  archivedOffset: number;
  logStartOffset: number;
}

/** What one run did. */
export interface ArchiveRunReport {
  readonly partitions: PartitionArchiveReport[];
  readonly errors: { readonly topic: string; readonly partition: number; readonly error: unknown }[];
  /** Partitions left for the next run because the run reached `runMsMax`. */
  readonly skippedPartitions: number;
  readonly durationMs: number;
  /** The most bytes the run's partitions reserved at once (at most `workingBytesMax`). */
  readonly workingBytesPeak: number;
  /**
   * The most bytes one segment held at once in this run: its candidate batches plus the encoded
   * segment (what {@link segmentWorkingBytes} reserves for).
   */
  readonly segmentHeldBytesMax: number;
}

const DEFAULTS: Required<ArchiverOptions> = {
  segmentsPerPartitionMax: 16,
  batchesPerSegmentMax: 100_000,
  concurrency: 4,
  runMsMax: 60_000,
  expiryMarginMs: 10 * 60 * 1000,
  indexIntervalBytes: INDEX_INTERVAL_BYTES_DEFAULT,
  retentionEntriesMax: 64,
  retagEntriesMax: 256,
  rescueCleanupMax: 1000,
  idleCheckMsMax: 0,
  workingBytesMax: 1024 * 1024 * 1024,
};
/** Segment entries retention reads per manifest query. */
const RETENTION_PAGE_ENTRIES = 8;
/** Consecutive transaction conflicts with produces before a partition waits for the next run. */
const CONFLICTS_MAX = 3;
/** Partition memos kept (one per partition with an unrolled tail). */
const MEMOS_MAX = 100_000;

/**
 * Decides whether the run of batches starting at archivedOffset rolls into a segment now, and how
 * many of them it takes. The segment takes batches while it stays within `segmentBytes` (frames
 * included; a lone batch larger than that makes a segment of its own) and while their running
 * maximum timestamp is less than `segmentMs` past the first one's. It rolls when:
 *
 * - a following batch would not fit: `size`, or would be `segmentMs` newer: `time`
 *   (both as Kafka rolls on `segment.bytes` and `segment.ms`);
 * - its first batch is `segmentMs` old: `time` (Kafka's roll of an idle active segment);
 * - a batch's TTL is due within `expiryMarginMs`: `expiry` (the hot tier is about to drop it).
 *
 * Otherwise the run waits in DynamoDB, as Kafka's active segment waits on disk.
 */
export function planSegment(
  batches: readonly CandidateBatch[],
  config: Pick<TopicConfig, 'segmentMs' | 'segmentBytes'>,
  now: number,
  limits: { readonly expiryMarginMs: number; readonly batchesPerSegmentMax: number },
): SegmentPlan | undefined {
  const first = batches[0];
  if (!first) return undefined;
  let bytes = 0;
  let count = 0;
  let expiresAt = Number.POSITIVE_INFINITY;
  for (const batch of batches) {
    if (count > 0) {
      if (bytes + frameBytes(batch) > config.segmentBytes) return { batchCount: count, reason: 'size' };
      if (batch.maxTimestampSoFar - first.maxTimestampSoFar >= config.segmentMs) {
        return { batchCount: count, reason: 'time' };
      }
      if (count >= limits.batchesPerSegmentMax) return { batchCount: count, reason: 'size' };
    }
    bytes += frameBytes(batch);
    count++;
    if (batch.expiresAt !== undefined) expiresAt = Math.min(expiresAt, batch.expiresAt);
  }
  if (now - first.maxTimestampSoFar >= config.segmentMs) return { batchCount: count, reason: 'time' };
  if (expiresAt - now <= limits.expiryMarginMs) return { batchCount: count, reason: 'expiry' };
  return undefined;
}

/** Bytes a batch takes in a segment, counted with the widest frame header. */
function frameBytes(batch: EncodedBatch): number {
  return batch.data.byteLength + FRAME_HEADER_BYTES_MAX;
}

/**
 * What the archiver remembers of a partition between runs of a warm process, so that a tail that
 * is not ready to roll is not read again and again: only batches appended since are read.
 */
interface PartitionMemo {
  archivedOffset: number;
  /** Batches [archivedOffset, scannedTo) were read and did not make a segment. */
  scannedTo: number;
  batchCount: number;
  bytes: number;
  firstMaxTimestamp: number;
  expiresAt: number;
}

/** Archives every partition of every topic; see the module comment. */
export class Archiver {
  private readonly options: Required<ArchiverOptions>;
  /** Shared by the partitions a run (or overlapping runs of this process) archives at once. */
  private readonly budget: ByteBudget;
  private segmentHeldBytesMax = 0;
  private readonly memos = new Map<string, PartitionMemo>();
  /** Where retagging after a retention increase goes on, per partition (lost on a cold start: it restarts). */
  private readonly retagCursors = new Map<string, number>();
  /** Partitions that had nothing to do, with what their head showed and when they are due again. */
  private readonly idle = new Map<string, IdleMemo>();

  constructor(
    private readonly topics: TopicStore,
    private readonly log: PartitionLog,
    private readonly manifest: SegmentManifest,
    private readonly objects: SegmentObjects,
    private readonly clock: Clock = systemClock,
    options: ArchiverOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.budget = new ByteBudget(this.options.workingBytesMax);
  }

  /**
   * One pass over every partition of every topic: archive what is ready, then apply retention.
   * A failing partition is reported and does not stop the others.
   */
  async run(): Promise<ArchiveRunReport> {
    const started = this.clock.now();
    this.budget.resetPeak();
    this.segmentHeldBytesMax = 0;
    const topics = await this.topics.list(LIMITS.topicsListedMax);
    const errors: { topic: string; partition: number; error: unknown }[] = [];
    const work = await this.partitionsWithWork(topics, errors);
    // A run that cannot finish should not always leave the same partitions behind.
    shuffle(work, this.clock.random);
    const partitions: PartitionArchiveReport[] = [];
    let skippedPartitions = 0;
    let nextIndex = 0;
    const worker = async () => {
      for (;;) {
        const item = work[nextIndex++];
        if (!item) return;
        if (this.clock.now() - started >= this.options.runMsMax) {
          skippedPartitions++;
          continue;
        }
        try {
          partitions.push(await this.archivePartition(item.topic, item.partition));
        } catch (error) {
          errors.push({ topic: item.topic.name, partition: item.partition, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency) }, worker));
    return {
      partitions,
      errors,
      skippedPartitions,
      durationMs: this.clock.now() - started,
      workingBytesPeak: this.budget.peakBytes,
      segmentHeldBytesMax: this.segmentHeldBytesMax,
    };
  }

  /**
   * Every partition, when `idleCheckMsMax` is 0; otherwise the partitions the idle memos do not
   * vouch for, of which those whose heads (read in one call per topic) show work.
   */
  private async partitionsWithWork(
    topics: readonly Topic[],
    errors: { topic: string; partition: number; error: unknown }[],
  ): Promise<{ topic: Topic; partition: number }[]> {
    const all = (topic: Topic) => Array.from({ length: topic.partitionCount }, (_, partition) => partition);
    if (this.options.idleCheckMsMax <= 0) {
      return topics.flatMap((topic) => all(topic).map((partition) => ({ topic, partition })));
    }
    const now = this.clock.now();
    const work: { topic: Topic; partition: number }[] = [];
    const checks = topics.flatMap((topic) => {
      const due = all(topic).filter(
        (partition) => (this.idle.get(memoKey(topic, partition))?.dueAt ?? 0) <= now,
      );
      return due.length === 0 ? [] : [{ topic, due }];
    });
    const check = async ({ topic, due }: { topic: Topic; due: number[] }) => {
      let heads: readonly PartitionHead[];
      try {
        // Eventually consistent: an append this read misses is seen by the next check of the partition.
        heads = await this.log.readHeads(topic, due, 'eventual');
      } catch (error) {
        errors.push({ topic: topic.name, partition: due[0] ?? 0, error });
        return;
      }
      // One draw per topic: its idle partitions stay due together, one read per topic and check.
      const jitter = this.clock.random();
      for (const head of heads) {
        if (this.hasWork(topic, head, now)) work.push({ topic, partition: head.partition });
        else {
          const retentionDueAt = this.idle.get(memoKey(topic, head.partition))?.retentionDueAt;
          this.rememberIdle(topic, head, retentionDueAt, now, jitter);
        }
      }
    };
    let next = 0;
    const worker = async () => {
      for (let item = checks[next++]; item; item = checks[next++]) await check(item);
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency) }, worker));
    return work;
  }

  /** Whether a head shows something to archive, retention that may be due, or segments to retag. */
  private hasWork(topic: Topic, head: PartitionHead, now: number): boolean {
    if (head.archivedOffset < head.highWatermark) return true;
    if (
      head.archivedOffset > head.logStartOffset &&
      head.retentionClassFloorDays < retentionClassDays(topic.config.retentionMs)
    ) {
      return true;
    }
    if (head.archivedOffset === 0 || !retentionApplies(topic.config)) return false;
    const memo = this.idle.get(memoKey(topic, head.partition));
    // Retention changes only with time or with what the head counts: re-plan when either moved.
    return (
      memo === undefined ||
      memo.retentionDueAt <= now ||
      memo.archivedOffset !== head.archivedOffset ||
      memo.logStartOffset !== head.logStartOffset ||
      memo.archivedBytes !== head.archivedBytes ||
      // A retention changed since (PATCH): the due time was computed with the old one.
      memo.retentionMs !== topic.config.retentionMs ||
      memo.retentionBytes !== topic.config.retentionBytes
    );
  }

  /**
   * Notes a partition with nothing left to do for now, due again within its topic's idle check
   * period (spread over its last quarter by `jitter`, one draw per topic in a run, so that topics
   * idle since the same run do not all come due in one later run while a topic's partitions stay
   * due together) or when its retention is due, whichever is first.
   */
  private rememberIdle(
    topic: Topic,
    head: PartitionHead,
    retentionDueAt: number | undefined,
    now: number,
    jitter = this.clock.random(),
  ): void {
    if (this.options.idleCheckMsMax <= 0) return;
    const { segmentMs, localRetentionMs } = topic.config;
    const periodMs = Math.min(this.options.idleCheckMsMax, Math.min(segmentMs, localRetentionMs) / 4);
    const dueIn = periodMs * (0.75 + 0.25 * jitter);
    const retention = retentionDueAt ?? Number.POSITIVE_INFINITY;
    if (this.idle.size >= MEMOS_MAX) this.idle.clear();
    this.idle.set(memoKey(topic, head.partition), {
      archivedOffset: head.archivedOffset,
      logStartOffset: head.logStartOffset,
      archivedBytes: head.archivedBytes,
      retentionMs: topic.config.retentionMs,
      retentionBytes: topic.config.retentionBytes,
      retentionDueAt: retention,
      dueAt: Math.min(now + dueIn, retention),
    });
  }

  /** Archives what is ready in one partition, then applies retention to it. */
  async archivePartition(topic: Topic, partition: number): Promise<PartitionArchiveReport> {
    let head = await this.readHead(topic, partition);
    const report: PartitionArchiveReport = {
      topic: topic.name,
      partition,
      segments: 0,
      records: 0,
      batches: 0,
      batchBytes: 0,
      objectBytes: 0,
      rescuedBatches: 0,
      lostRaces: 0,
      deletedSegments: 0,
      retaggedSegments: 0,
      archivedOffset: head.archivedOffset,
      logStartOffset: head.logStartOffset,
    };
    let conflicts = 0;
    while (
      report.segments < this.options.segmentsPerPartitionMax &&
      head.archivedOffset < head.highWatermark
    ) {
      // Held from the first read of batches until the segment is written and its batches dropped.
      const release = await this.budget.reserve(segmentWorkingBytes(topic));
      let written: { batches: CandidateBatch[]; outcome: RecordSegmentOutcome; objectBytes: number };
      try {
        if (!(await this.mayRoll(topic, partition, head))) break;
        const candidates = await this.readCandidates(topic, partition, head);
        const plan = planSegment(candidates, topic.config, this.clock.now(), this.options);
        if (!plan) {
          this.remember(topic, partition, head.archivedOffset, candidates);
          break;
        }
        const batches = candidates.slice(0, plan.batchCount);
        const { outcome, objectBytes } = await this.writeSegment(topic, partition, head, batches);
        const candidateBytes = candidates.reduce((sum, batch) => sum + batch.data.byteLength, 0);
        this.segmentHeldBytesMax = Math.max(this.segmentHeldBytesMax, candidateBytes + objectBytes);
        written = { batches, outcome, objectBytes };
      } finally {
        release();
      }
      const { batches, outcome, objectBytes } = written;
      if (outcome === 'conflict' && ++conflicts < CONFLICTS_MAX) continue;
      head = await this.readHead(topic, partition);
      if (outcome !== 'recorded') {
        report.lostRaces += outcome === 'archived-offset-moved' ? 1 : 0;
        if (outcome === 'conflict') break;
        continue;
      }
      conflicts = 0;
      this.memos.delete(memoKey(topic, partition));
      const last = batches.at(-1);
      assert.ok(last);
      report.segments++;
      report.batches += batches.length;
      report.records += last.lastOffset + 1 - (batches[0]?.baseOffset ?? 0);
      report.batchBytes += batches.reduce((sum, batch) => sum + batch.data.byteLength, 0);
      report.objectBytes += objectBytes;
      report.rescuedBatches += batches.filter((batch) => batch.rescued).length;
      if (batches.some((batch) => batch.rescued || (batch.expiresAt ?? 0) <= this.clock.now())) {
        await this.cleanUpRescued(topic, partition, last.lastOffset + 1);
      }
    }
    const retention = await this.applyRetention(topic, partition, head);
    report.deletedSegments = retention.deletedSegments;
    report.retaggedSegments = retention.retaggedSegments;
    report.archivedOffset = retention.head.archivedOffset;
    report.logStartOffset = retention.head.logStartOffset;
    const { head: after } = retention;
    const retagPending =
      after.archivedOffset > after.logStartOffset &&
      after.retentionClassFloorDays < retentionClassDays(topic.config.retentionMs);
    if (after.archivedOffset >= after.highWatermark && !retagPending) {
      this.rememberIdle(topic, after, retention.retentionDueAt, this.clock.now());
    } else {
      this.idle.delete(memoKey(topic, partition));
    }
    return report;
  }

  /**
   * Whether the tail may be ready to roll, from what earlier runs of this process read: reads only
   * the batches appended since, and answers true when it cannot tell.
   */
  private async mayRoll(topic: Topic, partition: number, head: PartitionHead): Promise<boolean> {
    const memo = this.memos.get(memoKey(topic, partition));
    if (!memo || memo.archivedOffset !== head.archivedOffset) return true;
    const now = this.clock.now();
    const { segmentMs, segmentBytes } = topic.config;
    if (now - memo.firstMaxTimestamp >= segmentMs || memo.expiresAt - now <= this.options.expiryMarginMs) {
      return true;
    }
    if (memo.scannedTo >= head.highWatermark) return false;
    const added = await this.log.readEncodedBatches(topic, partition, memo.scannedTo, {
      batchesMax: this.options.batchesPerSegmentMax + 1 - memo.batchCount,
      bytesMax: segmentBytes - memo.bytes + 1,
    });
    for (const batch of added) {
      if (batch.baseOffset !== memo.scannedTo) return true;
      memo.bytes += frameBytes(batch);
      memo.batchCount++;
      memo.scannedTo = batch.lastOffset + 1;
      if (batch.expiresAt !== undefined) memo.expiresAt = Math.min(memo.expiresAt, batch.expiresAt);
      if (
        memo.bytes > segmentBytes ||
        memo.batchCount > this.options.batchesPerSegmentMax ||
        batch.maxTimestampSoFar - memo.firstMaxTimestamp >= segmentMs
      ) {
        return true;
      }
    }
    return memo.scannedTo < head.highWatermark && added.length === 0;
  }

  private remember(
    topic: Topic,
    partition: number,
    archivedOffset: number,
    candidates: CandidateBatch[],
  ): void {
    const first = candidates[0];
    const last = candidates.at(-1);
    if (!first || !last) return;
    if (this.memos.size >= MEMOS_MAX) this.memos.clear();
    this.memos.set(memoKey(topic, partition), {
      archivedOffset,
      scannedTo: last.lastOffset + 1,
      batchCount: candidates.length,
      bytes: candidates.reduce((sum, batch) => sum + frameBytes(batch), 0),
      firstMaxTimestamp: first.maxTimestampSoFar,
      expiresAt: Math.min(...candidates.map((batch) => batch.expiresAt ?? Number.POSITIVE_INFINITY)),
    });
  }

  /**
   * The contiguous run of batches from archivedOffset, as much as one segment could take: from
   * DynamoDB (including batches whose TTL passed and which DynamoDB still holds), filling a gap
   * (a batch TTL deleted) from the rescue area, and ending at a gap the rescue has not filled yet.
   */
  private async readCandidates(
    topic: Topic,
    partition: number,
    head: PartitionHead,
  ): Promise<CandidateBatch[]> {
    const limits = {
      batchesMax: this.options.batchesPerSegmentMax + 1,
      bytesMax: topic.config.segmentBytes + 1,
    };
    const hot: StoredEncodedBatch[] = await this.log.readEncodedBatches(
      topic,
      partition,
      head.archivedOffset,
      limits,
    );
    const cutByLimits =
      hot.length >= limits.batchesMax ||
      hot.reduce((sum, batch) => sum + batch.data.byteLength, 0) >= limits.bytesMax;
    const candidates: CandidateBatch[] = [];
    let expected = head.archivedOffset;
    let bytes = 0;
    let index = 0;
    while (candidates.length < limits.batchesMax && bytes < limits.bytesMax) {
      const batch = hot[index];
      if (batch && batch.baseOffset === expected) {
        candidates.push({ ...batch, rescued: false });
        index++;
      } else {
        assert.ok(!batch || batch.baseOffset > expected, 'segments end on batch boundaries');
        if (!batch && (cutByLimits || expected >= head.highWatermark)) break;
        const rescued = await this.objects.getRescued(topic.topicId, partition, expected);
        if (!rescued) break;
        candidates.push({ ...rescued, expiresAt: 0, rescued: true });
      }
      const added = candidates.at(-1) as CandidateBatch;
      bytes += added.data.byteLength;
      expected = added.lastOffset + 1;
    }
    return candidates;
  }

  /** Steps 3 and 4 of the module comment; on a lost race, removes its own orphan. */
  private async writeSegment(
    topic: Topic,
    partition: number,
    head: PartitionHead,
    batches: readonly CandidateBatch[],
  ): Promise<{ outcome: RecordSegmentOutcome; objectBytes: number }> {
    const first = batches[0];
    const last = batches.at(-1);
    assert.ok(first && last && first.baseOffset === head.archivedOffset);
    const segment = encodeSegment(batches, this.options.indexIntervalBytes);
    const key = segmentKey(topic.topicId, partition, first.baseOffset, last.lastOffset);
    const classDays = retentionClassDays(topic.config.retentionMs);
    await this.objects.putSegment(key, segment.bytes, retentionClassTags(classDays));
    const entry: SegmentEntry = {
      baseOffset: first.baseOffset,
      lastOffset: last.lastOffset,
      key,
      objectBytes: segment.bytes.byteLength,
      indexPosition: segment.index.indexPosition,
      batchBytes: segment.batchBytes,
      maxTimestampSoFar: last.maxTimestampSoFar,
      archivedAt: this.clock.now(),
      retentionClassDays: classDays,
    };
    // The floor covers every live segment: a partition without any starts afresh at this class.
    const floor =
      head.archivedOffset === head.logStartOffset
        ? classDays
        : Math.min(head.retentionClassFloorDays, classDays);
    const outcome = await this.manifest.recordSegment(topic, partition, entry, floor);
    if (outcome === 'archived-offset-moved') {
      // Another archiver recorded a segment at this base first. Same key: the object is theirs
      // too (same range, same bytes). Another key: ours is referenced by nothing, ever.
      const [recorded] = await this.manifest.segmentsFrom(topic, partition, first.baseOffset, 1);
      if (recorded?.key !== key) await this.objects.deleteObjects([key]);
    }
    return { outcome, objectBytes: segment.bytes.byteLength };
  }

  /** Deletes rescued batches below `archivedOffset`: they are in segments now. */
  private async cleanUpRescued(topic: Topic, partition: number, archivedOffset: number): Promise<void> {
    const offsets = await this.objects.listRescued(
      topic.topicId,
      partition,
      archivedOffset,
      this.options.rescueCleanupMax,
    );
    if (offsets.length === 0) return;
    await this.objects.deleteObjects(offsets.map((offset) => rescueKey(topic.topicId, partition, offset)));
  }

  /**
   * Deletes the oldest segments past retention (logStartOffset first, then the objects, then the
   * entries: a crash in between leaves entries below logStartOffset, which the next run deletes),
   * then retags segments when the topic's retention grew.
   */
  private async applyRetention(
    topic: Topic,
    partition: number,
    initial: PartitionHead,
  ): Promise<{
    head: PartitionHead;
    deletedSegments: number;
    retaggedSegments: number;
    /** When retention may next delete a segment, if nothing is archived meanwhile (epoch ms). */
    retentionDueAt: number;
  }> {
    let head = initial;
    let deletedSegments = 0;
    let retentionDueAt = Number.POSITIVE_INFINITY;
    if (head.archivedOffset > 0 && retentionApplies(topic.config)) {
      const { leftovers, live } = await this.retentionCandidates(topic, partition, head);
      const plan = planRetention(
        live,
        head.archivedBytes,
        topic.config,
        head.logStartOffset,
        this.clock.now(),
      );
      let doomed = leftovers;
      if (plan.segmentCount > 0) {
        const moved = await this.manifest.advanceLogStartOffset(
          topic,
          partition,
          head.logStartOffset,
          plan.logStartOffset,
          plan.releasedBytes,
        );
        if (moved) {
          doomed = [...leftovers, ...live.slice(0, plan.segmentCount)];
          deletedSegments = plan.segmentCount;
        }
        head = await this.readHead(topic, partition);
      }
      retentionDueAt = this.nextRetentionAt(
        topic,
        live,
        plan.segmentCount,
        leftovers.length,
        deletedSegments,
      );
      if (doomed.length > 0) {
        await this.objects.deleteObjects(doomed.map((entry) => entry.key));
        await this.manifest.removeSegments(topic, partition, doomed);
      }
    }
    const retaggedSegments = await this.retag(topic, partition, head);
    return { head, deletedSegments, retaggedSegments, retentionDueAt };
  }

  /**
   * When retention may delete again: when the oldest segment it keeps passes `retentionMs` (its
   * `archivedAt`, as {@link planRetention} judges it). Size-based retention moves only with
   * `archivedBytes`, which a new segment changes. Now, when the plan was not carried out (a lost
   * race) or the entries read ran out before a kept one.
   */
  private nextRetentionAt(
    topic: Topic,
    live: readonly SegmentEntry[],
    planned: number,
    leftovers: number,
    deleted: number,
  ): number {
    const now = this.clock.now();
    if (deleted < planned) return now;
    const kept = live[planned];
    if (kept === undefined) {
      return live.length + leftovers >= this.options.retentionEntriesMax ? now : Number.POSITIVE_INFINITY;
    }
    return topic.config.retentionMs === -1
      ? Number.POSITIVE_INFINITY
      : kept.archivedAt + topic.config.retentionMs;
  }

  /**
   * The oldest segment entries, read a small page at a time for as long as retention would delete
   * every entry read so far (usually one page of a few entries). Reading starts at offset 0, so
   * entries an interrupted run left below logStartOffset come first.
   */
  private async retentionCandidates(
    topic: Topic,
    partition: number,
    head: PartitionHead,
  ): Promise<{ leftovers: SegmentEntry[]; live: SegmentEntry[] }> {
    const leftovers: SegmentEntry[] = [];
    const live: SegmentEntry[] = [];
    let from = 0;
    while (leftovers.length + live.length < this.options.retentionEntriesMax) {
      const limit = Math.min(
        RETENTION_PAGE_ENTRIES,
        this.options.retentionEntriesMax - leftovers.length - live.length,
      );
      const page = await this.manifest.segmentsFrom(topic, partition, from, limit);
      for (const entry of page) {
        if (entry.lastOffset < head.logStartOffset) leftovers.push(entry);
        else live.push(entry);
      }
      const last = page.at(-1);
      if (!last || page.length < limit) break;
      const plan = planRetention(
        live,
        head.archivedBytes,
        topic.config,
        head.logStartOffset,
        this.clock.now(),
      );
      if (plan.segmentCount < live.length) break;
      from = last.lastOffset + 1;
    }
    return { leftovers, live };
  }

  /**
   * After a retention increase, moves segments written under the shorter retention to the longer
   * lifecycle class, a bounded number per run, so the S3 backstop never deletes what the topic now
   * keeps. The head's floor says when every segment is done.
   */
  private async retag(topic: Topic, partition: number, head: PartitionHead): Promise<number> {
    const wanted = retentionClassDays(topic.config.retentionMs);
    if (head.archivedOffset <= head.logStartOffset || head.retentionClassFloorDays >= wanted) return 0;
    const key = memoKey(topic, partition);
    const from = Math.max(head.logStartOffset, this.retagCursors.get(key) ?? 0);
    const entries = await this.manifest.segmentsFrom(topic, partition, from, this.options.retagEntriesMax);
    let retagged = 0;
    let next = from;
    for (const entry of entries) {
      if (entry.baseOffset >= head.archivedOffset) break;
      if (entry.retentionClassDays < wanted) {
        await this.objects.tagSegment(entry.key, retentionClassTags(wanted));
        await this.manifest.setRetentionClass(topic, partition, entry, wanted);
        retagged++;
      }
      next = entry.lastOffset + 1;
    }
    if (next >= head.archivedOffset || entries.length === 0) {
      await this.manifest.setRetentionClassFloor(topic, partition, head.archivedOffset, wanted);
      this.retagCursors.delete(key);
    } else {
      if (this.retagCursors.size >= MEMOS_MAX) this.retagCursors.clear();
      this.retagCursors.set(key, next);
    }
    return retagged;
  }

  private async readHead(topic: Topic, partition: number): Promise<PartitionHead> {
    const [head] = await this.log.readHeads(topic, [partition]);
    assert.ok(head);
    return head;
  }
}

function memoKey(topic: Topic, partition: number): string {
  return `${topic.topicId}#${partition}`;
}

/** A partition that had nothing to do: what its head showed, and when it is due again. */
interface IdleMemo {
  readonly archivedOffset: number;
  readonly logStartOffset: number;
  readonly archivedBytes: number;
  /** The topic's retention settings the due time was computed with. */
  readonly retentionMs: number;
  readonly retentionBytes: number;
  /** When retention may next delete a segment (epoch ms); infinite when only new segments could make it. */
  readonly retentionDueAt: number;
  readonly dueAt: number;
}

/** Fisher-Yates, with the clock's random source (seedable in tests). */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

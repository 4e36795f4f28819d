/**
 * The consumer, shaped like KafkaJS's: `subscribe` then `run({ eachBatch | eachRecord })` in a
 * consumer group, or `assign` partitions and read them standalone.
 *
 * In a group, the member joins (`POST /v1/groups/{group}/members`), heartbeats in the background
 * and follows the generation the server announces: partitions it lost stop (their handler finishes
 * first), partitions it gained start from the group's committed offset. Each owned partition has
 * its own fetch loop (long polls, bounded by `fetchConcurrency`); handlers run one batch at a time
 * by default (`partitionsConsumedConcurrently`), records of a partition always in order.
 *
 * At least once: an offset is committed only after its record was processed (resolved). By
 * default the consumer commits after every batch; `autoCommitIntervalMs` commits on a timer
 * instead, `autoCommit: false` leaves it to `commit()`. `disconnect()` stops fetching, lets running
 * handlers finish, commits what they processed and leaves the group, so the partitions move to the
 * other members with nothing processed twice.
 *
 * ```
 * join ─► gen 4: [p0 p1 p2] ──heartbeat──► gen 5: [p0 p1]   (a member joined)
 *          loops p0 p1 p2                   p2: stop fetch, finish handler, onPartitionsRevoked
 * ```
 */

import { LIMITS } from '../shared/domain/limits.js';
import type { FetchAnswer, ShoalApi } from './api.js';
import { ERROR_CODES, isApiError, ShoalClientStateError } from './errors.js';
import { type ConsumedRecord, toConsumedRecord } from './records.js';
import { Semaphore } from './semaphore.js';
import { checkWhole, sleep } from './transport.js';
import { checkTopics, shown } from './validate.js';

/** A topic and partition. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A topic, partition and offset: where to read or what to commit (the next offset to read). */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/** Where to start when there is no committed offset (Kafka's `auto.offset.reset`) or on `assign`. */
export type StartFrom = 'earliest' | 'latest' | { readonly timestamp: number | string | Date };

/** Options of a consumer. Every one is bounded. */
export interface ConsumerOptions {
  /** The consumer group. Required for `subscribe`; with `assign`, where offsets are read from and committed to. */
  readonly groupId?: string;
  /** Dropped from the group after this long without heartbeat (1000 to 300000). @default 30000 */
  readonly sessionTimeoutMs?: number;
  /** How often the member heartbeats and learns of rebalances. @default 3000 */
  readonly heartbeatIntervalMs?: number;
  /** A fetch's long-poll wait when a partition has nothing new (0 to 20000). @default 2000 */
  readonly maxWaitMs?: number;
  /** Records per fetch (1 to 10000). @default 500 */
  readonly maxRecords?: number;
  /** About this many bytes per fetch. @default 1048576 */
  readonly maxBytes?: number;
  /** Fetches in flight at once, over all partitions. @default 8 */
  readonly fetchConcurrency?: number;
  /** Batches processed at once (each partition still in order). @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  /** Commit processed offsets automatically. @default true (with a group) */
  readonly autoCommit?: boolean;
  /** Commit on this timer instead of after every batch. */
  readonly autoCommitIntervalMs?: number;
  /** Attempts at a failing handler before the consumer crashes (it retries from the first unresolved record). @default 5 */
  readonly handlerRetriesMax?: number;
  /** Called after the member gained partitions, before they are fetched. */
  readonly onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called after the member lost partitions and their handlers finished. */
  readonly onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called when the consumer stops on an error it cannot get past. */
  readonly onCrash?: (error: Error) => void;
}

/** A fetched batch of one partition. */
export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly records: readonly ConsumedRecord[];
  firstOffset(): number | null;
  lastOffset(): number;
  /** Records after this batch not read yet. */
  offsetLag(): number;
}

export interface EachBatchPayload {
  readonly batch: Batch;
  /** Marks `offset` as processed: the next commit covers it. */
  resolveOffset(offset: number): void;
  /** Heartbeats now if the interval has passed (for long handlers). */
  heartbeat(): Promise<void>;
  /** Commits resolved offsets if autoCommit wants to now. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once this partition was revoked or sought: stop and return. */
  isStale(): boolean;
  /** Pauses this partition; returns the function that resumes it. */
  pause(): () => void;
}

export interface EachRecordPayload {
  readonly topic: string;
  readonly partition: number;
  readonly record: ConsumedRecord;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface RunOptions {
  readonly eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  readonly eachRecord?: (payload: EachRecordPayload) => Promise<void>;
  /** Resolve the whole batch when `eachBatch` returns. @default true */
  readonly eachBatchAutoResolve?: boolean;
}

interface PartitionState extends TopicPartition {
  readonly key: string;
  /** Next offset to fetch. */
  position: number;
  /** Next offset to commit: one past the last processed record. */
  resolved: number;
  /** The last committed offset this consumer knows of. */
  committed: number | undefined;
  highWatermark: number | undefined;
  fetchedOnce: boolean;
  active: boolean;
  processing: boolean;
  /** Bumped by seek and revoke: a fetch or batch of an older epoch is dropped. */
  epoch: number;
  fetch: AbortController | undefined;
  /** Aborted when the partition is revoked: wakes its backoff sleeps. */
  readonly cancel: AbortController;
  loop: Promise<void> | undefined;
}

const DEFAULTS = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  maxWaitMs: 2_000,
  maxRecords: 500,
  maxBytes: 1024 * 1024,
  fetchConcurrency: 8,
  partitionsConsumedConcurrently: 1,
  handlerRetriesMax: 5,
} as const;

/** Attempts at a fetch that keeps failing (after the transport's own retries) before a crash. */
const FETCH_FAILURES_MAX = 5;
/** Offsets in one commit request (the API's bound). */
const COMMIT_OFFSETS_PER_REQUEST_MAX = LIMITS.commitOffsetsPerRequestMax;
/** Attempts at a commit that was fenced by a rebalance. */
const COMMIT_ATTEMPTS_MAX = 3;

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** See the module comment. Create with `shoal.consumer({ groupId })`. */
export class Consumer {
  private readonly settings: typeof DEFAULTS & { autoCommitIntervalMs: number | undefined };
  private readonly autoCommit: boolean;
  private subscription: { topics: string[]; from: StartFrom } | undefined;
  private assigned:
    | { partitions: { topic: string; partition?: number; offset?: number }[]; from: StartFrom }
    | undefined;
  private readonly states = new Map<string, PartitionState>();
  private readonly paused = new Set<string>();
  /** Topics paused as a whole: their partitions assigned later start paused too. */
  private readonly pausedTopics = new Set<string>();
  private readonly pendingSeeks = new Map<string, number>();
  private handlers: RunOptions | undefined;
  private running = false;
  private joined = false;
  private memberId: string | undefined;
  private generation: number | undefined;
  private lastHeartbeatAt = 0;
  private stop = new AbortController();
  private fetchSlots: Semaphore;
  private handlerSlots: Semaphore;
  private membership: Promise<void> = Promise.resolve();
  private commits: Promise<void> = Promise.resolve();
  private heartbeatLoop: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private stopped: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };
  private readonly resumeWaiters = new Map<string, (() => void)[]>();

  constructor(
    private readonly api: ShoalApi,
    private readonly options: ConsumerOptions = {},
  ) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    this.settings = { ...DEFAULTS, autoCommitIntervalMs: undefined, ...defined } as typeof this.settings;
    const s = this.settings;
    checkWhole('sessionTimeoutMs', s.sessionTimeoutMs, 1_000, 300_000);
    checkWhole('heartbeatIntervalMs', s.heartbeatIntervalMs, 10, s.sessionTimeoutMs);
    checkWhole('maxWaitMs', s.maxWaitMs, 0, 20_000);
    checkWhole('maxRecords', s.maxRecords, 1, 10_000);
    checkWhole('maxBytes', s.maxBytes, 1, 3 * 1024 * 1024);
    checkWhole('fetchConcurrency', s.fetchConcurrency, 1, 256);
    checkWhole('partitionsConsumedConcurrently', s.partitionsConsumedConcurrently, 1, 256);
    checkWhole('handlerRetriesMax', s.handlerRetriesMax, 0, 100);
    if (s.autoCommitIntervalMs !== undefined)
      checkWhole('autoCommitIntervalMs', s.autoCommitIntervalMs, 10, 3_600_000);
    this.autoCommit = (options.autoCommit ?? true) && options.groupId !== undefined;
    this.fetchSlots = new Semaphore(s.fetchConcurrency);
    this.handlerSlots = new Semaphore(s.partitionsConsumedConcurrently);
    this.stopped = deferred();
  }

  /** Topics to read as a member of the group. Call before `run`. */
  async subscribe(input: {
    topics?: readonly string[];
    topic?: string;
    fromBeginning?: boolean;
    from?: StartFrom;
  }) {
    if (this.options.groupId === undefined) {
      throw new ShoalClientStateError(
        'subscribe needs a consumer with a groupId; use assign() to read without one',
      );
    }
    if (this.running) throw new ShoalClientStateError('subscribe before run()');
    if (typeof input !== 'object' || input === null) {
      throw new TypeError('subscribe takes { topics } or { topic }, with fromBeginning or from');
    }
    if (input.topics !== undefined) checkTopics(input.topics, 'subscribe: topics');
    if (input.topic !== undefined) checkTopics([input.topic], 'subscribe: topic');
    const topics = [...(input.topics ?? []), ...(input.topic === undefined ? [] : [input.topic])];
    if (topics.length === 0) throw new ShoalClientStateError('subscribe to at least one topic');
    this.subscription = {
      topics: [...new Set([...(this.subscription?.topics ?? []), ...topics])],
      from: input.from ?? (input.fromBeginning ? 'earliest' : 'latest'),
    };
  }

  /**
   * Partitions to read without joining a group (a standalone consumer). Omit `partition` for all of a
   * topic's partitions. Each starts at its `offset`, else at the group's committed offset (with a
   * groupId), else at `from`. Commits, with a groupId, are standalone commits: allowed while the
   * group has no live members.
   */
  async assign(
    partitions: readonly { topic: string; partition?: number; offset?: number }[],
    options: { from?: StartFrom } = {},
  ): Promise<void> {
    if (this.running) throw new ShoalClientStateError('assign before run()');
    if (this.subscription)
      throw new ShoalClientStateError('a consumer either subscribes or assigns, not both');
    this.assigned = { partitions: [...partitions], from: options.from ?? 'latest' };
  }

  /** Starts consuming; resolves once the member joined (or the partitions were assigned). */
  async run(handlers: RunOptions): Promise<void> {
    if (this.running) throw new ShoalClientStateError('The consumer is already running');
    if (typeof handlers !== 'object' || handlers === null || !handlers.eachBatch === !handlers.eachRecord) {
      const kafkaJS = (handlers as { eachMessage?: unknown } | undefined)?.eachMessage !== undefined;
      throw new TypeError(
        `run needs exactly one of eachBatch and eachRecord, a function${kafkaJS ? " (eachMessage is KafkaJS's name: use eachRecord, or import { Kafka } from 'shoal/kafkajs')" : ''}`,
      );
    }
    for (const name of ['eachBatch', 'eachRecord'] as const) {
      if (handlers[name] !== undefined && typeof handlers[name] !== 'function') {
        throw new TypeError(`run: ${name} must be a function, got ${shown(handlers[name])}`);
      }
    }
    if (!this.subscription && !this.assigned)
      throw new ShoalClientStateError('subscribe or assign before run()');
    this.handlers = handlers;
    this.running = true;
    this.stop = new AbortController();
    this.stopped = deferred();
    this.stopped.promise.catch(() => undefined);
    try {
      if (this.subscription) {
        await this.withMembership(() => this.join());
        this.heartbeatLoop = this.heartbeatForever();
      } else {
        await this.startAssigned();
      }
    } catch (error) {
      this.running = false;
      // Joined but could not start: leave at once rather than hold partitions until the session expires.
      if (this.memberId !== undefined) {
        await this.api.leaveGroup(this.options.groupId as string, this.memberId).catch(() => undefined);
        this.memberId = undefined;
        this.generation = undefined;
      }
      throw error;
    }
    if (this.autoCommit && this.settings.autoCommitIntervalMs !== undefined) {
      this.commitTimer = setInterval(() => {
        this.commit().catch(() => undefined);
      }, this.settings.autoCommitIntervalMs);
    }
  }

  /** Resolves when the consumer stops (`disconnect`); rejects with the error if it crashed. */
  whenStopped(): Promise<void> {
    return this.stopped.promise;
  }

  /** The partitions this consumer reads now. */
  assignment(): TopicPartition[] {
    return [...this.states.values()]
      .filter((state) => state.active)
      .map(({ topic, partition }) => ({ topic, partition }));
  }

  /** The member id and generation in the group, once joined. */
  membershipInfo(): { memberId: string; generation: number } | undefined {
    return this.memberId === undefined || this.generation === undefined
      ? undefined
      : { memberId: this.memberId, generation: this.generation };
  }

  /**
   * True when every partition read is fetched up to the high watermark it last saw and no handler is
   * running: what a "read to the end and exit" tool waits for.
   */
  caughtUp(): boolean {
    if (!this.running || (this.subscription && !this.joined)) return false;
    return [...this.states.values()].every(
      (state) =>
        !state.active ||
        this.isPaused(state) ||
        (state.fetchedOnce &&
          !state.processing &&
          state.highWatermark !== undefined &&
          state.position >= state.highWatermark),
    );
  }

  /** Next fetch of the partition starts at `offset`; a commit then records it. */
  seek(target: TopicPartitionOffset): void {
    checkWhole('offset', target.offset, 0, Number.MAX_SAFE_INTEGER);
    const state = this.states.get(tpKey(target.topic, target.partition));
    if (!state) {
      this.pendingSeeks.set(tpKey(target.topic, target.partition), target.offset);
      return;
    }
    state.epoch++;
    state.position = target.offset;
    state.resolved = target.offset;
    state.fetch?.abort();
  }

  /**
   * Stops fetching the given partitions; a topic without `partitions` is paused whole, including
   * partitions assigned to this consumer later.
   */
  pause(targets: readonly { topic: string; partitions?: readonly number[] }[]): void {
    for (const { topic, partitions } of targets) if (!partitions) this.pausedTopics.add(topic);
    for (const key of this.keysOf(targets)) this.paused.add(key);
    for (const state of this.states.values()) if (this.isPaused(state)) state.fetch?.abort();
  }

  resume(targets: readonly { topic: string; partitions?: readonly number[] }[]): void {
    for (const { topic, partitions } of targets) if (!partitions) this.pausedTopics.delete(topic);
    for (const key of this.keysOf(targets)) this.paused.delete(key);
    for (const state of this.states.values()) {
      if (this.isPaused(state)) continue;
      for (const wake of this.resumeWaiters.get(state.key)?.splice(0) ?? []) wake();
    }
  }

  /** Offsets processed (resolved) and not committed yet: what the next commit would send. */
  uncommittedOffsets(): TopicPartitionOffset[] {
    return this.uncommitted().filter(
      (offset) => this.states.get(tpKey(offset.topic, offset.partition))?.active,
    );
  }

  /** The paused partitions among those read now. */
  pausedPartitions(): TopicPartition[] {
    return [...this.states.values()]
      .filter((state) => this.isPaused(state))
      .map(({ topic, partition }) => ({ topic, partition }));
  }

  private isPaused(state: PartitionState): boolean {
    return this.paused.has(state.key) || this.pausedTopics.has(state.topic);
  }

  /**
   * Commits the given next-offsets-to-read, or every processed offset not committed yet. In a group,
   * partitions lost to a rebalance meanwhile are left out (their new owner reads on from the last
   * commit).
   */
  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.options.groupId === undefined) {
      throw new ShoalClientStateError('commit needs a consumer with a groupId');
    }
    const run = this.commits.then(() => this.commitNow(offsets));
    this.commits = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops: no new fetches, running handlers finish, processed offsets are committed (with
   * autoCommit), then the member leaves the group so its partitions move at once.
   */
  async disconnect(): Promise<void> {
    if (!this.running) return;
    await this.shutdown(undefined);
  }

  // Group membership.

  private withMembership<T>(change: () => Promise<T>): Promise<T> {
    const run = this.membership.then(change);
    this.membership = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async join(): Promise<void> {
    const subscription = this.subscription as { topics: string[]; from: StartFrom };
    const answer = await this.api.joinGroup(
      this.options.groupId as string,
      { topics: subscription.topics, sessionTimeoutMs: this.settings.sessionTimeoutMs },
      this.stop.signal,
    );
    this.memberId = answer.memberId;
    this.lastHeartbeatAt = Date.now();
    await this.follow(answer.generation, answer.assignments);
    this.joined = true;
  }

  private async heartbeatForever(): Promise<void> {
    while (this.running) {
      try {
        await sleep(this.settings.heartbeatIntervalMs, this.stop.signal);
      } catch {
        return;
      }
      // A failed heartbeat (the transport retried already) is tried again next interval; once the
      // session has expired, the next answer says unknown member and the consumer joins afresh.
      await this.heartbeatNow().catch(() => undefined);
    }
  }

  /** One heartbeat; follows a new generation or rejoins when the member was dropped. */
  private heartbeatNow(): Promise<void> {
    return this.withMembership(async () => {
      if (!this.running || this.memberId === undefined || this.generation === undefined) return;
      try {
        const answer = await this.api.heartbeat(
          this.options.groupId as string,
          this.memberId,
          this.generation,
          this.stop.signal,
        );
        this.lastHeartbeatAt = Date.now();
        await this.follow(answer.generation, answer.assignments);
      } catch (error) {
        if (!isApiError(error, ERROR_CODES.unknownMember, ERROR_CODES.staleGeneration)) throw error;
        // Dropped (session expired) or the group was recreated: everything is lost, join afresh.
        await this.revoke([...this.states.values()]);
        this.memberId = undefined;
        this.generation = undefined;
        await this.join();
      }
    });
  }

  /** Moves to a generation: stops revoked partitions, starts the new ones at their committed offsets. */
  private async follow(generation: number, assignments: readonly TopicPartition[]): Promise<void> {
    const wanted = new Set(assignments.map(({ topic, partition }) => tpKey(topic, partition)));
    const revoked = [...this.states.values()].filter((state) => state.active && !wanted.has(state.key));
    await this.revoke(revoked);
    this.generation = generation;
    const added = assignments.filter(
      ({ topic, partition }) => !this.states.get(tpKey(topic, partition))?.active,
    );
    if (added.length === 0 || !this.running) return;
    const subscription = this.subscription as { topics: string[]; from: StartFrom };
    const starts = await this.startOffsets(added, subscription.from, true);
    this.startPartitions(starts);
    await this.options.onPartitionsAssigned?.(added.map(({ topic, partition }) => ({ topic, partition })));
  }

  private async revoke(states: PartitionState[]): Promise<void> {
    if (states.length === 0) return;
    for (const state of states) {
      state.active = false;
      state.epoch++;
      state.fetch?.abort();
      state.cancel.abort();
      for (const wake of this.resumeWaiters.get(state.key)?.splice(0) ?? []) wake();
    }
    await Promise.all(states.map((state) => state.loop));
    for (const state of states) this.states.delete(state.key);
    await this.options.onPartitionsRevoked?.(states.map(({ topic, partition }) => ({ topic, partition })));
  }

  // Standalone assignment.

  private async startAssigned(): Promise<void> {
    const assigned = this.assigned as NonNullable<typeof this.assigned>;
    const expanded: { topic: string; partition: number; offset?: number }[] = [];
    for (const item of assigned.partitions) {
      if (item.partition !== undefined) {
        expanded.push({ topic: item.topic, partition: item.partition, ...pick(item.offset) });
        continue;
      }
      const description = await this.api.describeTopic(item.topic, this.stop.signal);
      for (const { partition } of description.partitions) {
        expanded.push({ topic: item.topic, partition, ...pick(item.offset) });
      }
    }
    const explicit = expanded.filter((item) => item.offset !== undefined) as TopicPartitionOffset[];
    const rest = expanded.filter((item) => item.offset === undefined);
    const starts = [
      ...explicit.map((item) => ({ ...item, committed: undefined })),
      ...(await this.startOffsets(rest, assigned.from, this.options.groupId !== undefined)),
    ];
    this.startPartitions(starts);
    await this.options.onPartitionsAssigned?.(expanded.map(({ topic, partition }) => ({ topic, partition })));
  }

  /** Where each partition starts: a pending seek, the committed offset, else `from`. */
  private async startOffsets(
    partitions: readonly TopicPartition[],
    from: StartFrom,
    useCommitted: boolean,
  ): Promise<(TopicPartitionOffset & { committed: number | undefined })[]> {
    const committed = new Map<string, number>();
    if (useCommitted && this.options.groupId !== undefined && partitions.length > 0) {
      try {
        const description = await this.api.describeGroup(this.options.groupId, this.stop.signal);
        for (const offset of description.offsets) {
          if (offset.committedOffset !== null)
            committed.set(tpKey(offset.topic, offset.partition), offset.committedOffset);
        }
      } catch (error) {
        if (!isApiError(error, ERROR_CODES.groupNotFound)) throw error;
      }
    }
    const heads = new Map<string, { logStartOffset: number; highWatermark: number }>();
    const needHeads = partitions.some(
      ({ topic, partition }) =>
        !committed.has(tpKey(topic, partition)) && !this.pendingSeeks.has(tpKey(topic, partition)),
    );
    if (needHeads && typeof from === 'string') {
      for (const topic of new Set(partitions.map((tp) => tp.topic))) {
        const description = await this.api.describeTopic(topic, this.stop.signal);
        for (const head of description.partitions) heads.set(tpKey(topic, head.partition), head);
      }
    }
    const starts: (TopicPartitionOffset & { committed: number | undefined })[] = [];
    for (const { topic, partition } of partitions) {
      const key = tpKey(topic, partition);
      const sought = this.pendingSeeks.get(key);
      this.pendingSeeks.delete(key);
      const known = committed.get(key);
      let offset = sought ?? known;
      if (offset === undefined) {
        if (typeof from === 'string') {
          const head = heads.get(key);
          offset = head === undefined ? 0 : from === 'earliest' ? head.logStartOffset : head.highWatermark;
        } else {
          const timestamp = from.timestamp instanceof Date ? from.timestamp.getTime() : from.timestamp;
          offset = await this.api.offsetForTimestamp(topic, partition, timestamp);
        }
      }
      starts.push({ topic, partition, offset, committed: known });
    }
    return starts;
  }

  private startPartitions(
    starts: readonly (TopicPartitionOffset & { committed: number | undefined })[],
  ): void {
    for (const start of starts) {
      const state: PartitionState = {
        topic: start.topic,
        partition: start.partition,
        key: tpKey(start.topic, start.partition),
        position: start.offset,
        resolved: start.offset,
        committed: start.committed,
        highWatermark: undefined,
        fetchedOnce: false,
        active: true,
        processing: false,
        epoch: 0,
        fetch: undefined,
        cancel: new AbortController(),
        loop: undefined,
      };
      this.states.set(state.key, state);
      // A bug or an unexpected failure stops the consumer as a crash, never as an unhandled rejection.
      state.loop = this.partitionLoop(state).catch((error: unknown) => this.crash(toError(error)));
    }
  }

  // Fetching and processing.

  private async partitionLoop(state: PartitionState): Promise<void> {
    let fetchFailures = 0;
    let handlerFailures = 0;
    const backoff = (ms: number) =>
      sleep(ms, AbortSignal.any([this.stop.signal, state.cancel.signal])).catch(() => undefined);
    while (state.active && this.running) {
      if (this.isPaused(state)) {
        await new Promise<void>((resolve) => {
          const waiters = this.resumeWaiters.get(state.key) ?? [];
          waiters.push(resolve);
          this.resumeWaiters.set(state.key, waiters);
        });
        continue;
      }
      const epoch = state.epoch;
      const outcome = await this.fetchOnce(state, epoch);
      if (outcome.kind === 'skipped') continue;
      if (outcome.kind === 'failed') {
        fetchFailures++;
        if (fetchFailures > FETCH_FAILURES_MAX) {
          this.crash(outcome.error);
          return;
        }
        await backoff(Math.min(10_000, 250 * 2 ** fetchFailures));
        continue;
      }
      fetchFailures = 0;
      const answer = outcome.answer;
      state.highWatermark = answer.highWatermark;
      state.fetchedOnce = true;
      if (answer.records.length === 0) {
        state.position = Math.max(state.position, answer.nextOffset);
        continue;
      }
      const ok = await this.process(state, epoch, answer);
      if (ok) {
        handlerFailures = 0;
      } else {
        handlerFailures++;
        if (handlerFailures > this.settings.handlerRetriesMax) {
          this.crash(this.lastHandlerError ?? new Error('The handler failed'));
          return;
        }
        await backoff(Math.min(10_000, 100 * 2 ** handlerFailures));
      }
    }
  }

  /** One fetch within the concurrency bound; an aborted or outdated one is `skipped`. */
  private async fetchOnce(
    state: PartitionState,
    epoch: number,
  ): Promise<
    { kind: 'fetched'; answer: FetchAnswer } | { kind: 'skipped' } | { kind: 'failed'; error: Error }
  > {
    const release = await this.fetchSlots.acquire();
    const controller = new AbortController();
    state.fetch = controller;
    try {
      if (!state.active || !this.running || state.epoch !== epoch || this.isPaused(state)) {
        return { kind: 'skipped' };
      }
      const answer = await this.api.fetch(
        state.topic,
        state.partition,
        {
          offset: state.position,
          maxRecords: this.settings.maxRecords,
          maxBytes: this.settings.maxBytes,
          waitMs: this.settings.maxWaitMs,
        },
        controller.signal,
      );
      return state.epoch === epoch && state.active ? { kind: 'fetched', answer } : { kind: 'skipped' };
    } catch (error) {
      if (controller.signal.aborted || !state.active || !this.running) return { kind: 'skipped' };
      if (isApiError(error, ERROR_CODES.offsetOutOfRange) && state.epoch === epoch) {
        // Out of range (retention moved the start, or a seek past the end): go to the nearest end.
        const logStartOffset = Number(error.problem.logStartOffset);
        const highWatermark = Number(error.problem.highWatermark);
        if (Number.isSafeInteger(logStartOffset) && Number.isSafeInteger(highWatermark)) {
          state.position = state.position < logStartOffset ? logStartOffset : highWatermark;
          state.resolved = state.position;
          return { kind: 'skipped' };
        }
      }
      return { kind: 'failed', error: toError(error) };
    } finally {
      state.fetch = undefined;
      release();
    }
  }

  private lastHandlerError: Error | undefined;

  /** Runs the handler on one batch; false when it threw (the unresolved records are fetched again). */
  private async process(state: PartitionState, epoch: number, answer: FetchAnswer): Promise<boolean> {
    const release = await this.handlerSlots.acquire();
    const handlers = this.handlers as RunOptions;
    const records = answer.records.map((record) => toConsumedRecord(state.topic, state.partition, record));
    const owned = () => state.active && state.epoch === epoch;
    const current = () => owned() && this.running;
    const resolveOffset = (offset: number) => {
      if (owned() && offset + 1 > state.resolved) state.resolved = offset + 1;
    };
    const pause = () => {
      this.pause([{ topic: state.topic, partitions: [state.partition] }]);
      return () => this.resume([{ topic: state.topic, partitions: [state.partition] }]);
    };
    // Heartbeats run in the background whatever handlers do; this one only hurries the next when due.
    // It does not wait: a rebalance in progress may be waiting for this very handler to return.
    const heartbeat = async () => {
      if (this.subscription && Date.now() - this.lastHeartbeatAt >= this.settings.heartbeatIntervalMs) {
        this.heartbeatNow().catch(() => undefined);
      }
    };
    state.processing = true;
    let ok = true;
    try {
      if (!current()) return true;
      if (handlers.eachBatch) {
        const last = records.at(-1) as ConsumedRecord;
        await handlers.eachBatch({
          batch: {
            topic: state.topic,
            partition: state.partition,
            highWatermark: answer.highWatermark,
            records,
            firstOffset: () => records[0]?.offset ?? null,
            lastOffset: () => last.offset,
            offsetLag: () => Math.max(0, answer.highWatermark - last.offset - 1),
          },
          resolveOffset,
          heartbeat,
          commitOffsetsIfNecessary: async () => {
            if (this.autoCommit && this.settings.autoCommitIntervalMs === undefined) await this.commit();
          },
          isRunning: () => this.running,
          isStale: () => !current(),
          pause,
        });
        if (handlers.eachBatchAutoResolve ?? true) resolveOffset(last.offset);
      } else if (handlers.eachRecord) {
        for (const record of records) {
          if (!current() || this.isPaused(state)) break;
          await handlers.eachRecord({
            topic: state.topic,
            partition: state.partition,
            record,
            heartbeat,
            pause,
          });
          resolveOffset(record.offset);
        }
      }
    } catch (error) {
      ok = false;
      this.lastHandlerError = toError(error);
    } finally {
      state.processing = false;
      release();
    }
    if (state.epoch === epoch) state.position = state.resolved;
    if (ok && this.autoCommit && this.settings.autoCommitIntervalMs === undefined && current()) {
      await this.commit().catch(() => undefined);
    }
    return ok;
  }

  // Commits.

  /**
   * Commits, in chunks the API accepts. A commit fenced by a rebalance cannot wait for the new
   * generation here (the rebalance may be waiting for the very handler that commits), so it starts
   * a heartbeat and leaves the offsets for the next commit; `final` (at disconnect, with every loop
   * stopped) asks for the generation itself and commits what the member still owns.
   */
  private async commitNow(
    explicit: readonly TopicPartitionOffset[] | undefined,
    final = false,
  ): Promise<void> {
    const group = this.options.groupId as string;
    for (let attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt++) {
      const offsets = (explicit ?? this.uncommitted()).filter(
        (offset) => !this.subscription || this.states.get(tpKey(offset.topic, offset.partition))?.active,
      );
      if (offsets.length === 0) return;
      try {
        for (let i = 0; i < offsets.length; i += COMMIT_OFFSETS_PER_REQUEST_MAX) {
          const chunk = offsets.slice(i, i + COMMIT_OFFSETS_PER_REQUEST_MAX);
          const member =
            this.subscription && this.memberId !== undefined && this.generation !== undefined
              ? { memberId: this.memberId, generation: this.generation }
              : {};
          await this.api.commitOffsets(group, {
            ...member,
            offsets: chunk.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
          });
          if (this.subscription) this.lastHeartbeatAt = Date.now();
          for (const offset of chunk) {
            const state = this.states.get(tpKey(offset.topic, offset.partition));
            if (state && (state.committed === undefined || offset.offset > state.committed)) {
              state.committed = offset.offset;
            }
          }
        }
        return;
      } catch (error) {
        if (isApiError(error, ERROR_CODES.offsetRegression)) {
          // Behind what is committed (a seek back): the committed offset stays, as the server keeps it.
          const state = this.states.get(tpKey(String(error.problem.topic), Number(error.problem.partition)));
          const committed = Number(error.problem.committedOffset);
          if (state && Number.isSafeInteger(committed)) state.committed = committed;
          if (explicit) throw error;
          continue;
        }
        const fenced =
          this.subscription &&
          isApiError(error, ERROR_CODES.staleGeneration, ERROR_CODES.notOwner, ERROR_CODES.unknownMember);
        if (!fenced) throw error;
        if (!final) {
          this.heartbeatNow().catch(() => undefined);
          if (explicit) throw error;
          return;
        }
        if (attempt === COMMIT_ATTEMPTS_MAX || !(await this.refreshGeneration())) return;
      }
    }
  }

  /** At disconnect: learns the generation and drops partitions no longer owned. False when dropped. */
  private async refreshGeneration(): Promise<boolean> {
    if (this.memberId === undefined || this.generation === undefined) return false;
    try {
      const answer = await this.api.heartbeat(this.options.groupId as string, this.memberId, this.generation);
      const owned = new Set(answer.assignments.map(({ topic, partition }) => tpKey(topic, partition)));
      for (const state of this.states.values()) if (!owned.has(state.key)) state.active = false;
      this.generation = answer.generation;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Offsets processed and not committed. A partition the group has no committed offset for is
   * committed at its start position even if nothing was read from it (as Kafka commits every
   * assigned partition's position): a later member then starts where this one did, not at the end.
   */
  private uncommitted(): TopicPartitionOffset[] {
    return [...this.states.values()]
      .filter((state) => state.committed === undefined || state.resolved > state.committed)
      .map(({ topic, partition, resolved }) => ({ topic, partition, offset: resolved }));
  }

  // Stopping.

  private crash(error: Error): void {
    if (!this.running) return;
    this.shutdown(error).catch(() => undefined);
  }

  private async shutdown(error: Error | undefined): Promise<void> {
    this.running = false;
    clearInterval(this.commitTimer);
    this.stop.abort();
    const states = [...this.states.values()];
    for (const state of states) {
      state.fetch?.abort();
      for (const wake of this.resumeWaiters.get(state.key)?.splice(0) ?? []) wake();
    }
    // Running handlers finish their batch; then nothing touches the offsets but the final commit.
    await Promise.all(states.map((state) => state.loop));
    await this.heartbeatLoop?.catch(() => undefined);
    await this.membership;
    await this.commits;
    if (this.autoCommit && error === undefined) await this.commitNow(undefined, true).catch(() => undefined);
    if (this.memberId !== undefined) {
      await this.api.leaveGroup(this.options.groupId as string, this.memberId).catch(() => undefined);
    }
    for (const state of states) state.active = false;
    this.memberId = undefined;
    this.generation = undefined;
    this.joined = false;
    this.states.clear();
    if (states.length > 0) {
      await Promise.resolve(
        this.options.onPartitionsRevoked?.(states.map(({ topic, partition }) => ({ topic, partition }))),
      ).catch(() => undefined);
    }
    if (error) {
      this.options.onCrash?.(error);
      this.stopped.reject(error);
    } else {
      this.stopped.resolve();
    }
  }

  private keysOf(targets: readonly { topic: string; partitions?: readonly number[] }[]): string[] {
    return targets.flatMap(({ topic, partitions }) =>
      partitions
        ? partitions.map((partition) => tpKey(topic, partition))
        : [...this.states.values()].filter((state) => state.topic === topic).map((state) => state.key),
    );
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function pick(offset: number | undefined): { offset?: number } {
  return offset === undefined ? {} : { offset };
}

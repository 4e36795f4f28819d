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

// The parts, each the owner of the state it changes, in the one direction they depend on:
//
//   Consumer ─► GroupMembership ─► FetchLoops ─► BatchHandler ─┬─► PartitionTable, RunState
//      │              └─► start-offsets                         │
//      └────────► Committer ───────────────────────────────────┘
//
// The committer asks the group what it needs through CommitSession, which GroupMembership
// implements; the batch handler commits and hurries heartbeats through callbacks the Consumer wires.

import type { ShoalApi } from './api.js';
import { BatchHandler } from './batch-handler.js';
import { Committer } from './commits.js';
import { type ConsumerSettings, consumerSettings } from './consumer-settings.js';
import type {
  ConsumerOptions,
  RunOptions,
  StartFrom,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer-types.js';
import { ShoalClientStateError } from './errors.js';
import { FetchLoops } from './fetch-loop.js';
import { GroupMembership } from './membership.js';
import { PartitionTable } from './partition-table.js';
import { RunState } from './run-state.js';
import { type AssignedPartition, assignedStarts } from './start-offsets.js';
import { TopicWatcher } from './topic-watcher.js';
import { checkTopics, shown } from './validate.js';

/** The consumer's public types (Batch, ConsumerOptions, RunOptions...), exported from here as ever. */
export type * from './consumer-types.js';

type Deferred = { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };

/** See the module comment. Create with `shoal.consumer({ groupId })`. */
export class Consumer {
  private readonly settings: ConsumerSettings;
  private readonly table = new PartitionTable();
  private readonly runState = new RunState();
  private readonly handler: BatchHandler;
  private readonly loops: FetchLoops;
  private readonly membership: GroupMembership;
  private readonly committer: Committer;
  private assigned: { partitions: AssignedPartition[]; from: StartFrom } | undefined;
  private watcher: TopicWatcher | undefined;
  private stopped: Deferred;

  constructor(
    private readonly api: ShoalApi,
    private readonly options: ConsumerOptions = {},
  ) {
    this.settings = consumerSettings(options);
    const { table, runState: run, settings } = this;
    this.handler = new BatchHandler({
      table,
      run,
      partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
      commitAfterEachBatch: settings.commitAfterEachBatch,
      commit: () => this.committer.commit(),
      heartbeatSoon: () => this.membership.heartbeatSoon(),
    });
    this.loops = new FetchLoops({
      api,
      table,
      run,
      handler: this.handler,
      settings,
      crash: (error) => this.crash(error),
      watching: () => this.watcher?.ready === true,
    });
    this.membership = new GroupMembership({
      api,
      table,
      run,
      loops: this.loops,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      idleHeartbeatIntervalMs: settings.idleHeartbeatIntervalMs,
      idle: () => this.watcher?.ready === true && table.allIdle(),
      heartbeatOverWatch: (group, memberId, generation) =>
        this.watcher?.heartbeat(group, memberId, generation) ?? false,
      options,
    });
    this.committer = new Committer(api, options.groupId, table, this.membership);
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
    if (this.runState.running) throw new ShoalClientStateError('subscribe before run()');
    if (typeof input !== 'object' || input === null) {
      throw new TypeError('subscribe takes { topics } or { topic }, with fromBeginning or from');
    }
    if (input.topics !== undefined) checkTopics(input.topics, 'subscribe: topics');
    if (input.topic !== undefined) checkTopics([input.topic], 'subscribe: topic');
    const topics = [...(input.topics ?? []), ...(input.topic === undefined ? [] : [input.topic])];
    if (topics.length === 0) throw new ShoalClientStateError('subscribe to at least one topic');
    this.membership.subscribe(topics, input.from ?? (input.fromBeginning ? 'earliest' : 'latest'));
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
    if (this.runState.running) throw new ShoalClientStateError('assign before run()');
    if (this.membership.subscribed())
      throw new ShoalClientStateError('a consumer either subscribes or assigns, not both');
    this.assigned = { partitions: [...partitions], from: options.from ?? 'latest' };
  }

  /** Starts consuming; resolves once the member joined (or the partitions were assigned). */
  async run(handlers: RunOptions): Promise<void> {
    if (this.runState.running) throw new ShoalClientStateError('The consumer is already running');
    checkHandlers(handlers);
    if (!this.membership.subscribed() && !this.assigned)
      throw new ShoalClientStateError('subscribe or assign before run()');
    this.handler.use(handlers);
    this.runState.start();
    this.stopped = deferred();
    this.stopped.promise.catch(() => undefined);
    this.startWatcher();
    try {
      if (this.membership.subscribed()) await this.membership.start();
      else await this.startAssigned();
    } catch (error) {
      this.runState.end();
      this.runState.abort();
      await this.watcher?.stopped();
      this.watcher = undefined;
      // Joined but could not start: leave at once rather than hold partitions until the session expires.
      await this.membership.leave();
      throw error;
    }
    if (this.settings.autoCommit && this.settings.autoCommitIntervalMs !== undefined) {
      this.committer.startTimer(this.settings.autoCommitIntervalMs);
    }
  }

  /** Resolves when the consumer stops (`disconnect`); rejects with the error if it crashed. */
  whenStopped(): Promise<void> {
    return this.stopped.promise;
  }

  /** The partitions this consumer reads now. */
  assignment(): TopicPartition[] {
    return this.table.assignment();
  }

  /** The member id and generation in the group, once joined. */
  membershipInfo(): { memberId: string; generation: number } | undefined {
    return this.membership.member();
  }

  /**
   * True when every partition read is fetched up to the high watermark it last saw and no handler is
   * running: what a "read to the end and exit" tool waits for.
   */
  caughtUp(): boolean {
    if (!this.runState.running || (this.membership.subscribed() && !this.membership.joined)) return false;
    return this.table.caughtUp();
  }

  /** Next fetch of the partition starts at `offset`; a commit then records it. */
  seek(target: TopicPartitionOffset): void {
    this.table.seek(target);
  }

  /**
   * Stops fetching the given partitions; a topic without `partitions` is paused whole, including
   * partitions assigned to this consumer later.
   */
  pause(targets: readonly { topic: string; partitions?: readonly number[] }[]): void {
    this.table.pause(targets);
  }

  resume(targets: readonly { topic: string; partitions?: readonly number[] }[]): void {
    this.table.resume(targets);
  }

  /** Offsets processed (resolved) and not committed yet: what the next commit would send. */
  uncommittedOffsets(): TopicPartitionOffset[] {
    return this.committer.uncommitted();
  }

  /** The paused partitions among those read now. */
  pausedPartitions(): TopicPartition[] {
    return this.table.pausedPartitions();
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
    return this.committer.commit(offsets);
  }

  /**
   * Stops: no new fetches, running handlers finish, processed offsets are committed (with
   * autoCommit), then the member leaves the group so its partitions move at once.
   */
  async disconnect(): Promise<void> {
    if (!this.runState.running) return;
    await this.shutdown(undefined);
  }

  private async startAssigned(): Promise<void> {
    const assigned = this.assigned as NonNullable<typeof this.assigned>;
    const context = {
      api: this.api,
      table: this.table,
      groupId: this.options.groupId,
      signal: this.runState.signal,
    };
    const { starts, assigned: partitions } = await assignedStarts(
      context,
      assigned.partitions,
      assigned.from,
    );
    this.loops.start(starts);
    await this.options.onPartitionsAssigned?.(partitions);
  }

  /** Opens the watch, when asked for and the transport has a watch URL (see `topic-watcher.ts`). */
  private startWatcher(): void {
    const url = this.api.transport.watchUrl;
    if (!this.settings.watch || url === undefined) return;
    const topics = this.membership.subscribed()
      ? this.membership.topics()
      : [...new Set((this.assigned?.partitions ?? []).map(({ topic }) => topic))];
    const { table } = this;
    this.watcher = new TopicWatcher(
      this.api.transport,
      url,
      () => topics,
      {
        onHeads: (topic, partitions) => {
          for (const { partition, highWatermark } of partitions)
            table.announce(topic, partition, highWatermark);
        },
        onHeartbeatAnswer: () => {
          this.membership.heartbeatNow().catch(() => undefined);
        },
        onReadyChange: (ready) => {
          // Without the watch, idle partitions long poll again.
          if (!ready) for (const state of table.all()) table.wakeIdle(state);
        },
      },
      this.settings.watchRenewMs,
      this.runState.signal,
    );
    this.watcher.start();
  }

  private crash(error: Error): void {
    if (!this.runState.running) return;
    this.shutdown(error).catch(() => undefined);
  }

  private async shutdown(error: Error | undefined): Promise<void> {
    this.runState.end();
    this.committer.stopTimer();
    this.runState.abort();
    await this.watcher?.stopped();
    this.watcher = undefined;
    const states = this.table.all();
    // Running handlers finish their batch; then nothing touches the offsets but the final commit.
    await this.loops.drain();
    await this.membership.settled();
    await this.committer.settled();
    if (this.settings.autoCommit && error === undefined) {
      await this.committer.commitFinal().catch(() => undefined);
    }
    await this.membership.leave();
    for (const state of states) state.active = false;
    this.table.clear();
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
}

/** Exactly one of `eachBatch` and `eachRecord`, a function; KafkaJS's `eachMessage` is named as such. */
function checkHandlers(handlers: RunOptions): void {
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
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The partitions a consumer reads now, each with its read position and offsets, and what the user
 * asked of them: pauses (of a partition, or of a whole topic including partitions assigned later)
 * and seeks (kept pending for a partition not read yet). The fetch loops, the commits and the
 * membership all work on the same {@link PartitionState}s; this module is where they are kept.
 *
 * An epoch guards each partition against late answers:
 *
 * ```
 * fetch (epoch 3) ──────────────► answer: dropped, epoch is 4 now
 *          seek / revoke: epoch 4
 * ```
 */

import type { TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { checkWhole } from './transport.js';

/** One partition read now: where its fetches are and what of it was processed and committed. */
export interface PartitionState extends TopicPartition {
  readonly key: string;
  /** Next offset to fetch. */
  position: number;
  /** Next offset to commit: one past the last processed record. */
  resolved: number;
  /** The last committed offset this consumer knows of. */
  committed: number | undefined;
  highWatermark: number | undefined;
  /** The highest high watermark the watch announced (0 before any): above `position`, there is news. */
  announcedHighWatermark: number;
  /** Waiting for news from the watch instead of fetching (see {@link PartitionTable.whenAnnounced}). */
  idle: boolean;
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

/** Where a partition starts, and the offset the group has committed for it (if any). */
export interface PartitionStart extends TopicPartitionOffset {
  readonly committed: number | undefined;
}

/** Partitions named as `pause` and `resume` take them: a topic without `partitions` is all of it. */
export type PartitionTargets = readonly { topic: string; partitions?: readonly number[] }[];

/** The key of a topic and partition in the table. */
export const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** See the module comment. */
export class PartitionTable {
  private readonly states = new Map<string, PartitionState>();
  private readonly paused = new Set<string>();
  /** Topics paused as a whole: their partitions assigned later start paused too. */
  private readonly pausedTopics = new Set<string>();
  private readonly pendingSeeks = new Map<string, number>();
  private readonly resumeWaiters = new Map<string, (() => void)[]>();
  private readonly idleWaiters = new Map<string, (() => void)[]>();

  /** Adds a partition at its start; its fetch loop is the caller's to attach. */
  add(start: PartitionStart): PartitionState {
    const state: PartitionState = {
      topic: start.topic,
      partition: start.partition,
      key: tpKey(start.topic, start.partition),
      position: start.offset,
      resolved: start.offset,
      committed: start.committed,
      highWatermark: undefined,
      announcedHighWatermark: 0,
      idle: false,
      fetchedOnce: false,
      active: true,
      processing: false,
      epoch: 0,
      fetch: undefined,
      cancel: new AbortController(),
      loop: undefined,
    };
    this.states.set(state.key, state);
    return state;
  }

  get(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(tpKey(topic, partition));
  }

  /** Every partition in the table, active or on its way out. */
  all(): PartitionState[] {
    return [...this.states.values()];
  }

  /** The partitions read now. */
  assignment(): TopicPartition[] {
    return this.all()
      .filter((state) => state.active)
      .map(({ topic, partition }) => ({ topic, partition }));
  }

  /** True when a partition is read now (not revoked, not stopping). */
  isActive(topic: string, partition: number): boolean {
    return this.get(topic, partition)?.active === true;
  }

  delete(state: PartitionState): void {
    this.states.delete(state.key);
  }

  clear(): void {
    this.states.clear();
  }

  /** Every active partition fetched up to the high watermark it saw, or paused, and none processing. */
  caughtUp(): boolean {
    return this.all().every(
      (state) =>
        !state.active ||
        this.isPaused(state) ||
        (state.fetchedOnce &&
          !state.processing &&
          state.highWatermark !== undefined &&
          state.position >= state.highWatermark),
    );
  }

  /** Next fetch of the partition starts at `offset`; kept pending when the partition is not read yet. */
  seek(target: TopicPartitionOffset): void {
    checkWhole('offset', target.offset, 0, Number.MAX_SAFE_INTEGER);
    const state = this.get(target.topic, target.partition);
    if (!state) {
      this.pendingSeeks.set(tpKey(target.topic, target.partition), target.offset);
      return;
    }
    state.epoch++;
    state.position = target.offset;
    state.resolved = target.offset;
    state.fetch?.abort();
    this.wake(state);
  }

  /** True when a seek waits for this partition to be assigned. */
  hasPendingSeek(topic: string, partition: number): boolean {
    return this.pendingSeeks.has(tpKey(topic, partition));
  }

  /** The offset a pending seek asked for, removed from the pending ones. */
  takePendingSeek(topic: string, partition: number): number | undefined {
    const key = tpKey(topic, partition);
    const sought = this.pendingSeeks.get(key);
    this.pendingSeeks.delete(key);
    return sought;
  }

  pause(targets: PartitionTargets): void {
    for (const { topic, partitions } of targets) if (!partitions) this.pausedTopics.add(topic);
    for (const key of this.keysOf(targets)) this.paused.add(key);
    for (const state of this.states.values()) if (this.isPaused(state)) state.fetch?.abort();
  }

  resume(targets: PartitionTargets): void {
    for (const { topic, partitions } of targets) if (!partitions) this.pausedTopics.delete(topic);
    for (const key of this.keysOf(targets)) this.paused.delete(key);
    for (const state of this.states.values()) if (!this.isPaused(state)) this.wake(state);
  }

  isPaused(state: PartitionState): boolean {
    return this.paused.has(state.key) || this.pausedTopics.has(state.topic);
  }

  /** The paused partitions among those in the table. */
  pausedPartitions(): TopicPartition[] {
    return this.all()
      .filter((state) => this.isPaused(state))
      .map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Resolves when the partition is resumed, revoked or the consumer stops ({@link wake}). */
  whenResumed(state: PartitionState): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = this.resumeWaiters.get(state.key) ?? [];
      waiters.push(resolve);
      this.resumeWaiters.set(state.key, waiters);
    });
  }

  /**
   * Resolves when the watch announces records past the partition's position, or on {@link wake}
   * (a seek, a revoke, the consumer stopping, the watch lost). The partition is `idle` meanwhile.
   */
  async whenAnnounced(state: PartitionState): Promise<void> {
    if (state.announcedHighWatermark > state.position) return;
    state.idle = true;
    try {
      await new Promise<void>((resolve) => {
        const waiters = this.idleWaiters.get(state.key) ?? [];
        waiters.push(resolve);
        this.idleWaiters.set(state.key, waiters);
      });
    } finally {
      state.idle = false;
    }
  }

  /** The watch announced a high watermark: wakes the partition if it has records past its position. */
  announce(topic: string, partition: number, highWatermark: number): void {
    const state = this.get(topic, partition);
    if (!state) return;
    state.announcedHighWatermark = Math.max(state.announcedHighWatermark, highWatermark);
    if (state.highWatermark !== undefined) state.highWatermark = Math.max(state.highWatermark, highWatermark);
    if (highWatermark > state.position) this.wakeIdle(state);
  }

  /** True when every partition read waits for news (none fetching, none processing). */
  allIdle(): boolean {
    return this.all().every((state) => !state.active || state.idle);
  }

  /** Wakes a fetch loop waiting in {@link whenResumed} or {@link whenAnnounced}. */
  wake(state: PartitionState): void {
    for (const wake of this.resumeWaiters.get(state.key)?.splice(0) ?? []) wake();
    this.wakeIdle(state);
  }

  /** Wakes a fetch loop waiting in {@link whenAnnounced}. */
  wakeIdle(state: PartitionState): void {
    for (const wake of this.idleWaiters.get(state.key)?.splice(0) ?? []) wake();
  }

  /**
   * Offsets processed and not committed. A partition the group has no committed offset for is
   * committed at its start position even if nothing was read from it (as Kafka commits every
   * assigned partition's position): a later member then starts where this one did, not at the end.
   */
  uncommitted(): TopicPartitionOffset[] {
    return this.all()
      .filter((state) => state.committed === undefined || state.resolved > state.committed)
      .map(({ topic, partition, resolved }) => ({ topic, partition, offset: resolved }));
  }

  /** Marks every partition not among `owned` inactive (its new owner reads it now). */
  deactivateAllBut(owned: readonly TopicPartition[]): void {
    const keys = new Set(owned.map(({ topic, partition }) => tpKey(topic, partition)));
    for (const state of this.states.values()) if (!keys.has(state.key)) state.active = false;
  }

  /** Takes the group's committed offset as the server states it (after a refused regression). */
  committedIs(topic: string, partition: number, committed: number): void {
    const state = this.get(topic, partition);
    if (state) state.committed = committed;
  }

  /** Records a commit the server accepted (the committed offset only moves forward here). */
  committedAt(offset: TopicPartitionOffset): void {
    const state = this.get(offset.topic, offset.partition);
    if (state && (state.committed === undefined || offset.offset > state.committed)) {
      state.committed = offset.offset;
    }
  }

  private keysOf(targets: PartitionTargets): string[] {
    return targets.flatMap(({ topic, partitions }) =>
      partitions
        ? partitions.map((partition) => tpKey(topic, partition))
        : this.all()
            .filter((state) => state.topic === topic)
            .map((state) => state.key),
    );
  }
}

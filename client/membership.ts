/**
 * The consumer's membership of its group: what it subscribes to, joining, heartbeating in the
 * background, following each new generation (its lost partitions stop, its gained ones start at
 * the group's committed offsets), joining afresh when the group dropped it, and leaving. Changes of
 * membership run one at a time.
 *
 * ```
 * join ─► gen 4: [p0 p1 p2] ──heartbeat──► gen 5: [p0 p1]   (a member joined)
 *          loops p0 p1 p2                   p2: stop fetch, finish handler, onPartitionsRevoked
 * ```
 */

import type { ShoalApi } from './api.js';
import type { CommitSession } from './commits.js';
import type { ConsumerOptions, StartFrom, TopicPartition } from './consumer-types.js';
import { ERROR_CODES, isApiError } from './errors.js';
import type { FetchLoops } from './fetch-loop.js';
import { type PartitionState, type PartitionTable, tpKey } from './partition-table.js';
import type { RunState } from './run-state.js';
import { startOffsets } from './start-offsets.js';
import { sleep } from './transport.js';

/** The topics a member reads, and where it starts partitions the group has no offset for. */
export interface Subscription {
  readonly topics: string[];
  readonly from: StartFrom;
}

/** What the membership needs of the rest of the consumer. */
export interface MembershipContext {
  readonly api: ShoalApi;
  readonly table: PartitionTable;
  readonly run: RunState;
  readonly loops: FetchLoops;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** How often an idle member heartbeats (over the watch). */
  readonly idleHeartbeatIntervalMs: number;
  /** True when every partition waits for the watch's news and the watch is up. */
  idle(): boolean;
  /** Sends a heartbeat over the watch; false when the watch is down (heartbeat over HTTP then). */
  heartbeatOverWatch(group: string, memberId: string, generation: number): boolean;
  readonly options: Pick<ConsumerOptions, 'groupId' | 'onPartitionsAssigned' | 'onPartitionsRevoked'>;
}

/** See the module comment. It is also what commits ask of the group ({@link CommitSession}). */
export class GroupMembership implements CommitSession {
  private subscription: Subscription | undefined;
  private memberId: string | undefined;
  private generation: number | undefined;
  private isJoined = false;
  private lastHeartbeatAt = 0;
  /** Changes of membership run one after another: each waits for the one before. */
  private changes: Promise<void> = Promise.resolve();
  private heartbeats: Promise<void> | undefined;

  constructor(private readonly context: MembershipContext) {}

  /** Adds topics (to those of earlier calls); `from` replaces the earlier one. */
  subscribe(topics: readonly string[], from: StartFrom): void {
    this.subscription = { topics: [...new Set([...(this.subscription?.topics ?? []), ...topics])], from };
  }

  subscribed(): boolean {
    return this.subscription !== undefined;
  }

  /** The topics subscribed to (none before `subscribe`). */
  topics(): readonly string[] {
    return this.subscription?.topics ?? [];
  }

  /** True once the member joined and started the partitions of its first generation. */
  get joined(): boolean {
    return this.isJoined;
  }

  member(): { memberId: string; generation: number } | undefined {
    return this.memberId === undefined || this.generation === undefined
      ? undefined
      : { memberId: this.memberId, generation: this.generation };
  }

  contacted(): void {
    this.lastHeartbeatAt = Date.now();
  }

  /** Joins the group, then heartbeats in the background until the consumer stops. */
  async start(): Promise<void> {
    await this.change(() => this.join());
    this.heartbeats = this.heartbeatForever();
  }

  /** Hurries the next heartbeat when it is due (for long handlers); does not wait for it. */
  heartbeatSoon(): void {
    if (this.subscription && Date.now() - this.lastHeartbeatAt >= this.context.heartbeatIntervalMs) {
      this.heartbeatNow().catch(() => undefined);
    }
  }

  /** One heartbeat; follows a new generation or rejoins when the member was dropped. */
  heartbeatNow(): Promise<void> {
    return this.change(async () => {
      if (!this.context.run.running || this.memberId === undefined || this.generation === undefined) return;
      try {
        const answer = await this.context.api.heartbeat(
          this.groupId(),
          this.memberId,
          this.generation,
          this.context.run.signal,
        );
        this.contacted();
        await this.follow(answer.generation, answer.assignments);
      } catch (error) {
        if (!isApiError(error, ERROR_CODES.unknownMember, ERROR_CODES.staleGeneration)) throw error;
        // Dropped (session expired) or the group was recreated: everything is lost, join afresh.
        await this.revoke(this.context.table.all());
        this.memberId = undefined;
        this.generation = undefined;
        await this.join();
      }
    });
  }

  async refreshGeneration(): Promise<boolean> {
    if (this.memberId === undefined || this.generation === undefined) return false;
    try {
      const answer = await this.context.api.heartbeat(this.groupId(), this.memberId, this.generation);
      this.context.table.deactivateAllBut(answer.assignments);
      this.generation = answer.generation;
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves when the heartbeat loop and every change of membership have finished. */
  async settled(): Promise<void> {
    await this.heartbeats?.catch(() => undefined);
    await this.changes;
  }

  /** Leaves the group (if a member), so its partitions move to the other members at once. */
  async leave(): Promise<void> {
    if (this.memberId !== undefined) {
      await this.context.api.leaveGroup(this.groupId(), this.memberId).catch(() => undefined);
    }
    this.memberId = undefined;
    this.generation = undefined;
    this.isJoined = false;
  }

  private change<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changes.then(change);
    this.changes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async join(): Promise<void> {
    const subscription = this.subscription as Subscription;
    const answer = await this.context.api.joinGroup(
      this.groupId(),
      { topics: subscription.topics, sessionTimeoutMs: this.context.sessionTimeoutMs },
      this.context.run.signal,
    );
    this.memberId = answer.memberId;
    this.contacted();
    await this.follow(answer.generation, answer.assignments);
    this.isJoined = true;
  }

  private async heartbeatForever(): Promise<void> {
    while (this.context.run.running) {
      try {
        await sleep(this.nextTickMs(), this.context.run.signal);
      } catch {
        return;
      }
      if (this.heartbeatWhileIdle()) continue;
      // A failed heartbeat (the transport retried already) is tried again next interval; once the
      // session has expired, the next answer says unknown member and the consumer joins afresh.
      await this.heartbeatNow().catch(() => undefined);
    }
  }

  /**
   * While idle (every partition waits for the watch's news), heartbeats go over the watch every
   * `idleHeartbeatIntervalMs`: true when this tick needs no HTTP heartbeat (one went over the watch,
   * or none is due yet). The server answers only a changed generation or a failure, and the watcher
   * then asks for {@link heartbeatNow}.
   */
  private heartbeatWhileIdle(): boolean {
    const member = this.member();
    if (member === undefined || !this.context.idle()) return false;
    if (Date.now() - this.lastHeartbeatAt < this.context.idleHeartbeatIntervalMs) return true;
    if (!this.context.heartbeatOverWatch(this.groupId(), member.memberId, member.generation)) return false;
    this.contacted();
    return true;
  }

  /** The next heartbeat tick: the busy interval, or sooner when an idle heartbeat falls due before it. */
  private nextTickMs(): number {
    const { heartbeatIntervalMs, idleHeartbeatIntervalMs } = this.context;
    if (!this.context.idle()) return heartbeatIntervalMs;
    const dueInMs = idleHeartbeatIntervalMs - (Date.now() - this.lastHeartbeatAt);
    return Math.max(10, Math.min(heartbeatIntervalMs, dueInMs));
  }

  /** Moves to a generation: stops revoked partitions, starts the new ones at their committed offsets. */
  private async follow(generation: number, assignments: readonly TopicPartition[]): Promise<void> {
    const { api, table, run, loops, options } = this.context;
    const wanted = new Set(assignments.map(({ topic, partition }) => tpKey(topic, partition)));
    await this.revoke(table.all().filter((state) => state.active && !wanted.has(state.key)));
    this.generation = generation;
    const added = assignments.filter(({ topic, partition }) => !table.isActive(topic, partition));
    if (added.length === 0 || !run.running) return;
    const context = { api, table, groupId: options.groupId, signal: run.signal };
    const starts = await startOffsets(context, added, (this.subscription as Subscription).from, true);
    loops.start(starts);
    await options.onPartitionsAssigned?.(added.map(({ topic, partition }) => ({ topic, partition })));
  }

  private async revoke(states: PartitionState[]): Promise<void> {
    if (states.length === 0) return;
    await this.context.loops.stop(states);
    await this.context.options.onPartitionsRevoked?.(
      states.map(({ topic, partition }) => ({ topic, partition })),
    );
  }

  private groupId(): string {
    return this.context.options.groupId as string;
  }
}

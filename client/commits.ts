/**
 * The consumer's commits: one at a time, in chunks the API accepts
 * (`LIMITS.commitOffsetsPerRequestMax`), on a timer, after each batch or when asked. In a group a
 * commit is the member's, fenced by its generation:
 *
 * ```
 * commit (gen 4) ──► 409 stale generation
 *   running:    heartbeat now (learn gen 5), the offsets wait for the next commit
 *   disconnect: ask for gen 5, drop partitions no longer owned, commit the rest (3 attempts)
 * ```
 *
 * A commit behind what the group has (after a seek back) leaves the group's offset as it is.
 */

import { LIMITS } from '../shared/domain/limits.js';
import type { ShoalApi } from './api.js';
import type { TopicPartitionOffset } from './consumer-types.js';
import { ERROR_CODES, isApiError } from './errors.js';
import type { PartitionTable } from './partition-table.js';

/** Offsets in one commit request (the API's bound). */
const COMMIT_OFFSETS_PER_REQUEST_MAX = LIMITS.commitOffsetsPerRequestMax;
/** Attempts at a commit that was fenced by a rebalance. */
const COMMIT_ATTEMPTS_MAX = 3;

/** What commits need of the group membership (client/membership.ts provides it). */
export interface CommitSession {
  /** True when the consumer subscribes: its commits are a member's, fenced by the generation. */
  subscribed(): boolean;
  /** The member and generation to commit as, once joined. */
  member(): { memberId: string; generation: number } | undefined;
  /** A commit reached the group, which counts as a heartbeat. */
  contacted(): void;
  /** Heartbeats now, learning the generation a fenced commit missed. */
  heartbeatNow(): Promise<void>;
  /** At disconnect: learns the generation and drops partitions no longer owned. False when dropped. */
  refreshGeneration(): Promise<boolean>;
}

/** See the module comment. */
export class Committer {
  /** Commits run one after another: each waits for the one before. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly api: ShoalApi,
    private readonly groupId: string | undefined,
    private readonly table: PartitionTable,
    private readonly session: CommitSession,
  ) {}

  /** Commits the given offsets, or every processed one not committed yet, after earlier commits. */
  commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    const run = this.chain.then(() => this.commitNow(offsets));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Offsets processed and not committed yet, of partitions read now. */
  uncommitted(): TopicPartitionOffset[] {
    return this.table.uncommitted().filter((offset) => this.table.isActive(offset.topic, offset.partition));
  }

  /** Commits every `intervalMs` until {@link stopTimer}. */
  startTimer(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.commit().catch(() => undefined);
    }, intervalMs);
  }

  stopTimer(): void {
    clearInterval(this.timer);
  }

  /** Resolves when the commits started so far have finished. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** The last commit, at disconnect, with every loop stopped: follows a new generation itself. */
  commitFinal(): Promise<void> {
    return this.commitNow(undefined, true);
  }

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
    for (let attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt++) {
      const offsets = (explicit ?? this.table.uncommitted()).filter(
        (offset) => !this.session.subscribed() || this.table.isActive(offset.topic, offset.partition),
      );
      if (offsets.length === 0) return;
      try {
        await this.send(offsets);
        return;
      } catch (error) {
        const next = await this.afterFailure(error, explicit !== undefined, final, attempt);
        if (next === 'stop') return;
      }
    }
  }

  /** Sends the offsets chunk by chunk, noting each accepted chunk as committed. */
  private async send(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const group = this.groupId as string;
    for (let i = 0; i < offsets.length; i += COMMIT_OFFSETS_PER_REQUEST_MAX) {
      const chunk = offsets.slice(i, i + COMMIT_OFFSETS_PER_REQUEST_MAX);
      const member = this.session.subscribed() ? (this.session.member() ?? {}) : {};
      await this.api.commitOffsets(group, {
        ...member,
        offsets: chunk.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      });
      if (this.session.subscribed()) this.session.contacted();
      for (const offset of chunk) this.table.committedAt(offset);
    }
  }

  /**
   * What a failed commit does next: `retry`, or `stop` with the offsets left for a later commit.
   * Throws what the caller of an explicit commit should see, and every error that is not a fence.
   */
  private async afterFailure(
    error: unknown,
    explicit: boolean,
    final: boolean,
    attempt: number,
  ): Promise<'retry' | 'stop'> {
    if (isApiError(error, ERROR_CODES.offsetRegression)) {
      // Behind what is committed (a seek back): the committed offset stays, as the server keeps it.
      const committed = Number(error.problem.committedOffset);
      if (Number.isSafeInteger(committed)) {
        this.table.committedIs(String(error.problem.topic), Number(error.problem.partition), committed);
      }
      if (explicit) throw error;
      return 'retry';
    }
    const fenced =
      this.session.subscribed() &&
      isApiError(error, ERROR_CODES.staleGeneration, ERROR_CODES.notOwner, ERROR_CODES.unknownMember);
    if (!fenced) throw error;
    if (!final) {
      this.session.heartbeatNow().catch(() => undefined);
      if (explicit) throw error;
      return 'stop';
    }
    if (attempt === COMMIT_ATTEMPTS_MAX || !(await this.session.refreshGeneration())) return 'stop';
    return 'retry';
  }
}

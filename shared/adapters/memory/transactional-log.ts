/**
 * The append with a commit in memory: the items and conditions of the DynamoDB transaction
 * (`adapters/dynamodb/partition-log.ts` `appendWithCommit`), over the items of a
 * `MemoryPartitionLog` and a `MemoryGroupStore`, so that the exactly-once service
 * (`produce-with-offsets.ts`) and the exactly-once delivery run in unit tests. Both pass one
 * contract suite (`test/contract/transactional-log.contract.ts`).
 *
 * ```
 *  group   gid and gen as given                                   (generation-changed)
 *  member  alive at commit.now (dl >= now)  → refreshed           (member-gone)
 *  offset  none, or stored <= new, or another incarnation's → set (regressed, first index)
 *  head    hw = expected (or absent, no tombstone, when 0) → moved (head-moved)
 *  batch   no batch item with the same last offset → put          (head-moved)
 *  key     no live record of the group incarnation's key → put    (idempotency-key-exists)
 * ```
 *
 * Every condition is checked before anything is applied, in one turn of the event loop (nothing
 * else runs in between, as nothing else enters a transaction), so it is all or nothing. A refusal
 * is reported as the DynamoDB adapter classifies a cancelled transaction (`commitRefusal`, then
 * `classifyAppendFailure`): the commit's items first, then the idempotency record, then a head or
 * batch. Never answers `unknown`: nothing in memory times out after the write.
 */
import type {
  AppendWithCommitOutcome,
  AppendWithCommitRequest,
  IdempotencyRecord,
  TransactionalLog,
} from '../../ports/partition-log.js';
import type { MemoryGroupStore } from './group-store.js';
import type { MemoryPartitionLog } from './partition-log.js';

export interface MemoryTransactionalLogOptions {
  /** The hot tier the records are appended to (and the idempotency records kept in). */
  readonly log: MemoryPartitionLog;
  /** The consumer groups whose offsets are committed. */
  readonly groups: MemoryGroupStore;
  /** Epoch ms now: when an idempotency record counts as expired for a new transaction. */
  readonly now: () => number;
}

export class MemoryTransactionalLog implements TransactionalLog {
  private readonly log: MemoryPartitionLog;
  private readonly groups: MemoryGroupStore;
  private readonly now: () => number;

  constructor(options: MemoryTransactionalLogOptions) {
    this.log = options.log;
    this.groups = options.groups;
    this.now = options.now;
  }

  async appendWithCommit(request: AppendWithCommitRequest): Promise<AppendWithCommitOutcome> {
    const refused = this.groups.commitRefusal(request.commit);
    if (refused) return refused;
    const keyId = request.idempotency
      ? commitIdempotencyId(request.commit.groupId, request.idempotency.key)
      : undefined;
    if (keyId !== undefined && this.log.idempotencyHeld(keyId, this.now())) {
      return { kind: 'idempotency-key-exists' };
    }
    for (const append of request.appends) {
      if (!this.log.appendPasses(append.topic, append.expectedHeads, append.batches)) {
        return { kind: 'head-moved' };
      }
    }
    this.groups.applyCommit(request.commit);
    for (const append of request.appends) {
      this.log.applyAppend(append.topic, request.appendId, append.expectedHeads, append.batches);
    }
    if (keyId !== undefined && request.idempotency) this.log.putIdempotency(keyId, request.idempotency);
    return { kind: 'appended' };
  }

  async readCommitIdempotency(
    groupId: string,
    key: string,
    now: number,
  ): Promise<IdempotencyRecord | undefined> {
    return this.log.readIdempotencyItem(commitIdempotencyId(groupId, key), now);
  }
}

/** Apart from a produce's keys (`<topicId>#<key>`) as the DynamoDB items are (`I#G#<gid>#<key>`). */
const commitIdempotencyId = (groupId: string, key: string) => `G#${groupId}#${key}`;

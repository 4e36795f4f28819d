/**
 * group.ts, pure: the rules every group request applies to what it reads. Group ids and session
 * timeouts at their bounds and one past them; which member items count (listed in this incarnation's
 * record, deadline not passed: a member is live at its very deadline); the group's state as
 * `describe` reports it (Kafka's Empty, Stable, Rebalancing); and the partitions a group assigns, in
 * topic and partition order.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../shared/domain/errors.js';
import {
  type GroupMember,
  type GroupRecord,
  groupState,
  isListedMember,
  isLiveMember,
  partitionsOf,
  validateGroupName,
  validateSessionTimeout,
} from '../../shared/domain/group.js';
import { LIMITS } from '../../shared/domain/limits.js';

function invalid(run: () => void): InvalidRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('expected an InvalidRequestError');
}

const record: GroupRecord = {
  name: 'g',
  groupId: 'incarnation-2',
  generation: 4,
  assignments: { a: [], b: [{ topic: 't', partition: 0 }] },
  topics: { t: { topicId: 't-id', partitionCount: 1 } },
  createdAt: 0,
};

const member = (memberId: string, fields: Partial<GroupMember> = {}): GroupMember => ({
  memberId,
  groupId: 'incarnation-2',
  topics: ['t'],
  sessionTimeoutMs: 10_000,
  joinedAt: 0,
  lastHeartbeat: 0,
  deadline: 10_000,
  seenGeneration: 4,
  ...fields,
});

describe('validateGroupName', () => {
  it('takes 1 to groupNameLengthMax letters, digits, dots, underscores and dashes', () => {
    for (const name of ['g', 'orders.v2_consumers-1', 'G'.repeat(LIMITS.groupNameLengthMax)]) {
      expect(() => validateGroupName(name)).not.toThrow();
    }
  });

  it('fails for an empty id, one character too many, or another character, naming the field and the id', () => {
    for (const name of ['', 'g'.repeat(LIMITS.groupNameLengthMax + 1), 'a b', 'a/b', 'é']) {
      const error = invalid(() => validateGroupName(name));
      expect(error.field).toBe('group');
      expect(error.message).toContain(`1 to ${LIMITS.groupNameLengthMax}`);
      expect(error.message).toContain(`got '${name}'`);
    }
  });
});

describe('validateSessionTimeout', () => {
  it('takes whole milliseconds from sessionTimeoutMsMin to sessionTimeoutMsMax', () => {
    for (const ms of [
      LIMITS.sessionTimeoutMsMin,
      LIMITS.sessionTimeoutMsDefault,
      LIMITS.sessionTimeoutMsMax,
    ]) {
      expect(() => validateSessionTimeout(ms)).not.toThrow();
    }
  });

  it('fails one past either bound or for a fraction, naming the field, the bounds and the value', () => {
    for (const ms of [LIMITS.sessionTimeoutMsMin - 1, LIMITS.sessionTimeoutMsMax + 1, 1_000.5, Number.NaN]) {
      const error = invalid(() => validateSessionTimeout(ms));
      expect(error.field).toBe('sessionTimeoutMs');
      expect(error.message).toContain(`from ${LIMITS.sessionTimeoutMsMin} to ${LIMITS.sessionTimeoutMsMax}`);
      expect(error.message).toContain(`got ${ms}`);
    }
  });
});

describe('which member items count', () => {
  it('lists a member of this incarnation that the record assigns, even with no partition', () => {
    expect(isListedMember(record, member('a'))).toBe(true);
    expect(isListedMember(record, member('b'))).toBe(true);
  });

  it('does not list a member of another incarnation, one the record does not name, or any without a record', () => {
    expect(isListedMember(record, member('a', { groupId: 'incarnation-1' }))).toBe(false);
    expect(isListedMember(record, member('c'))).toBe(false);
    expect(isListedMember(undefined, member('a'))).toBe(false);
  });

  it('counts a listed member live up to and at its deadline, and gone a millisecond later', () => {
    expect(isLiveMember(record, member('a'), 9_999)).toBe(true);
    expect(isLiveMember(record, member('a'), 10_000)).toBe(true);
    expect(isLiveMember(record, member('a'), 10_001)).toBe(false);
    expect(isLiveMember(record, member('c'), 0)).toBe(false);
    expect(isLiveMember(undefined, member('a'), 0)).toBe(false);
  });
});

describe('groupState', () => {
  it('is Empty without a live member', () => {
    expect(groupState(record, [])).toBe('Empty');
  });

  it('is Stable when every live member has seen the generation', () => {
    expect(groupState(record, [member('a'), member('b')])).toBe('Stable');
  });

  it('is Rebalancing while some live member has not seen the generation yet', () => {
    expect(groupState(record, [member('a'), member('b', { seenGeneration: 3 })])).toBe('Rebalancing');
    expect(groupState(record, [member('a', { seenGeneration: 3 }), member('b')])).toBe('Rebalancing');
  });
});

describe('partitionsOf', () => {
  it('lists every partition of every topic, topics in name order, partitions in number order', () => {
    const partitions = partitionsOf({
      orders: { topicId: 'o', partitionCount: 3 },
      audit: { topicId: 'a', partitionCount: 1 },
      payments: { topicId: 'p', partitionCount: 2 },
    });

    expect(partitions).toEqual([
      { topic: 'audit', partition: 0 },
      { topic: 'orders', partition: 0 },
      { topic: 'orders', partition: 1 },
      { topic: 'orders', partition: 2 },
      { topic: 'payments', partition: 0 },
      { topic: 'payments', partition: 1 },
    ]);
  });

  it('lists nothing for no topics', () => {
    expect(partitionsOf({})).toEqual([]);
  });
});

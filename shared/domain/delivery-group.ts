/**
 * The consumer group a subscription delivers as. The dispatcher commits in the group's name without
 * being a member, so it delivers only while the group has no live member: a consumer that joins the
 * group by hand stops the subscription instead of racing it.
 */
import type { GroupStore } from '../ports/group-store.js';
import type { Clock } from './clock.js';
import { isLiveMember } from './group.js';
import type { Subscription } from './subscription.js';

/** The consumer group as commits need it. */
export interface GroupRef {
  readonly groupId: string;
  readonly generation: number;
}

/**
 * Reads the subscription's group; undefined when it does not exist.
 *
 * @throws Error when the group has live members (the run reports it; a later run tries again)
 */
export async function readDeliveryGroup(
  groupStore: GroupStore,
  clock: Clock,
  subscription: Subscription,
): Promise<GroupRef | undefined> {
  const snapshot = await groupStore.read(subscription.consumerGroupId);
  const record = snapshot.record;
  if (!record) return undefined;
  const now = clock.now();
  const live = snapshot.members.filter((member) => isLiveMember(record, member, now));
  if (live.length > 0) {
    throw new Error(
      `Consumer group '${subscription.consumerGroupId}' has ${live.length} live member(s): the subscription delivers only while its group has none`,
    );
  }
  return { groupId: record.groupId, generation: record.generation };
}

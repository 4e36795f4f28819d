/**
 * Subscriptions and their per-partition delivery state in memory, under the lease conditions of
 * `adapters/dynamodb/subscription-store.ts` (one contract suite,
 * `test/contract/subscription-store.contract.ts`):
 *
 * ```
 *  acquire  lease free, expired (until < now) or already the owner's   → owner, until; state of an
 *           earlier incarnation of the name cleared
 *  save     owner holds the lease and the state is this incarnation's  → retry, counters, lease extended
 *  release  owner holds the lease                                      → lease removed
 * ```
 */
import type { Subscription } from '../../domain/subscription.js';
import {
  type DeliveryCounters,
  NO_COUNTS,
  type PartitionDeliveryState,
  type ProgressUpdate,
  type SubscriptionStore,
} from '../../ports/subscription-store.js';
import { byCodeUnits } from './topic-store.js';

/** A partition's state item: the incarnation it belongs to, beside what the port reads. */
interface StateItem {
  subscriptionId: string | undefined;
  state: PartitionDeliveryState;
}

export class MemorySubscriptionStore implements SubscriptionStore {
  private readonly subscriptions = new Map<string, Subscription>();
  /** Subscription name → partition → state item (kept when the subscription is, like its items). */
  private readonly states = new Map<string, Map<number, StateItem>>();

  async create(subscription: Subscription): Promise<boolean> {
    if (this.subscriptions.has(subscription.name)) return false;
    this.subscriptions.set(subscription.name, structuredClone(subscription));
    return true;
  }

  async get(name: string): Promise<Subscription | undefined> {
    const stored = this.subscriptions.get(name);
    return stored ? structuredClone(stored) : undefined;
  }

  async list(limit: number): Promise<Subscription[]> {
    return [...this.subscriptions.keys()]
      .sort(byCodeUnits)
      .slice(0, limit)
      .map((name) => structuredClone(this.subscriptions.get(name) as Subscription));
  }

  async update(next: Subscription): Promise<boolean> {
    if (this.subscriptions.get(next.name)?.subscriptionId !== next.subscriptionId) return false;
    this.subscriptions.set(next.name, structuredClone(next));
    return true;
  }

  async delete(subscription: Subscription): Promise<boolean> {
    if (this.subscriptions.get(subscription.name)?.subscriptionId !== subscription.subscriptionId)
      return false;
    this.subscriptions.delete(subscription.name);
    this.states.delete(subscription.name);
    return true;
  }

  async readStates(subscription: Subscription): Promise<PartitionDeliveryState[]> {
    const items = this.states.get(subscription.name) ?? new Map<number, StateItem>();
    return [...items.keys()]
      .sort((a, b) => a - b)
      .map((partition) => items.get(partition) as StateItem)
      .filter((item) => item.subscriptionId === subscription.subscriptionId)
      .map((item) => structuredClone(item.state));
  }

  async acquireLease(
    subscription: Subscription,
    partition: number,
    owner: string,
    until: number,
    now: number,
  ): Promise<PartitionDeliveryState | undefined> {
    const item = this.stateItem(subscription.name, partition);
    const lease = item.state.lease;
    if (lease && !(lease.until < now) && lease.owner !== owner) return undefined;
    if (item.subscriptionId !== subscription.subscriptionId) {
      item.subscriptionId = subscription.subscriptionId;
      item.state = emptyState(partition);
    }
    item.state = { ...item.state, lease: { owner, until } };
    return structuredClone(item.state);
  }

  async saveProgress(
    subscription: Subscription,
    partition: number,
    owner: string,
    update: ProgressUpdate,
  ): Promise<boolean> {
    const item = this.states.get(subscription.name)?.get(partition);
    if (!item || item.state.lease?.owner !== owner || item.subscriptionId !== subscription.subscriptionId) {
      return false;
    }
    const counters = { ...item.state.counters };
    for (const field of Object.keys(counters) as (keyof DeliveryCounters)[]) {
      counters[field] += update.counters[field] ?? 0;
    }
    item.state = {
      ...item.state,
      lease: { owner, until: update.leaseUntil },
      retry: update.retry ? { ...update.retry } : undefined,
      counters,
      lastError: update.lastError ? { ...update.lastError } : item.state.lastError,
      lastDeliveredAt: update.lastDeliveredAt ?? item.state.lastDeliveredAt,
    };
    return true;
  }

  async releaseLease(subscription: Subscription, partition: number, owner: string): Promise<void> {
    const item = this.states.get(subscription.name)?.get(partition);
    if (item?.state.lease?.owner === owner) item.state = { ...item.state, lease: undefined };
  }

  private stateItem(name: string, partition: number): StateItem {
    let items = this.states.get(name);
    if (!items) {
      items = new Map();
      this.states.set(name, items);
    }
    let item = items.get(partition);
    if (!item) {
      item = { subscriptionId: undefined, state: emptyState(partition) };
      items.set(partition, item);
    }
    return item;
  }
}

function emptyState(partition: number): PartitionDeliveryState {
  return {
    partition,
    lease: undefined,
    retry: undefined,
    counters: { ...NO_COUNTS },
    lastError: undefined,
    lastDeliveredAt: undefined,
  };
}

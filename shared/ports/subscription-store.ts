import type { RetryState } from '../domain/delivery.js';
import type { Subscription } from '../domain/subscription.js';

/** What happened to a subscription's records in one partition, counted since it was created. */
export interface DeliveryCounters {
  /** Records handed to the function in invocations that succeeded (partly, up to the first failure). */
  readonly delivered: number;
  readonly invocations: number;
  /** Invocations that failed: function errors, timeouts, invalid answers, refused invocations. */
  readonly errors: number;
  /** Records written to the dead-letter topic. */
  readonly deadLettered: number;
  /** Records committed without delivery because no filter matched them. */
  readonly filtered: number;
  /** Records given up on without a dead-letter topic (retries or age exhausted), as Lambda discards them. */
  readonly discarded: number;
}

export const NO_COUNTS: DeliveryCounters = {
  delivered: 0,
  invocations: 0,
  errors: 0,
  deadLettered: 0,
  filtered: 0,
  discarded: 0,
};

/** The last failure of a partition's delivery, for the API. */
export interface DeliveryFailure {
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
  /** The first offset of the batch that failed. */
  readonly offset: number;
}

/** A subscription's delivery state in one partition (its position is the group's committed offset). */
export interface PartitionDeliveryState {
  readonly partition: number;
  /** The dispatcher run delivering the partition now, and until when its lease holds (epoch ms). */
  readonly lease: { readonly owner: string; readonly until: number } | undefined;
  readonly retry: RetryState | undefined;
  readonly counters: DeliveryCounters;
  readonly lastError: DeliveryFailure | undefined;
  /** Epoch ms of the last successful invocation. */
  readonly lastDeliveredAt: number | undefined;
}

/** Written after each batch by the lease holder. */
export interface ProgressUpdate {
  /** Replaces the retry state (undefined clears it). */
  readonly retry: RetryState | undefined;
  /** Added to the counters. */
  readonly counters: Partial<DeliveryCounters>;
  readonly lastError?: DeliveryFailure;
  readonly lastDeliveredAt?: number;
  /** The lease is extended to this epoch ms. */
  readonly leaseUntil: number;
}

/**
 * Where subscriptions and their per-partition delivery state live. Implemented by
 * `adapters/dynamodb/subscription-store.ts`. Every write that moves delivery state is conditional
 * on the lease, so at most one dispatcher run delivers a subscription's partition at a time.
 */
export interface SubscriptionStore {
  /** Stores a new subscription; `false` when one of that name exists already. */
  create(subscription: Subscription): Promise<boolean>;
  get(name: string): Promise<Subscription | undefined>;
  /** Subscriptions in name order, at most `limit`. */
  list(limit: number): Promise<Subscription[]>;
  /** Replaces the settings of the stored incarnation `next.subscriptionId`; `false` when it is gone. */
  update(next: Subscription): Promise<boolean>;
  /** Removes the subscription (this incarnation) and every partition state of its name. `false` when gone. */
  delete(subscription: Subscription): Promise<boolean>;
  /** The delivery state of every partition that has one, for this incarnation. */
  readStates(subscription: Subscription): Promise<PartitionDeliveryState[]>;
  /**
   * Takes the partition's lease for `owner` until `until`, when it is free, expired at `now`, or
   * already `owner`'s; undefined when another run holds it. State left by an earlier incarnation of
   * the name is cleared.
   */
  acquireLease(
    subscription: Subscription,
    partition: number,
    owner: string,
    until: number,
    now: number,
  ): Promise<PartitionDeliveryState | undefined>;
  /** Applies an update while `owner` holds the lease; `false` when the lease was lost. */
  saveProgress(
    subscription: Subscription,
    partition: number,
    owner: string,
    update: ProgressUpdate,
  ): Promise<boolean>;
  /** Gives the lease up (no-op when `owner` no longer holds it). */
  releaseLease(subscription: Subscription, partition: number, owner: string): Promise<void>;
}

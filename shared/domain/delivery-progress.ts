/**
 * A partition's delivery state as saved under its lease: the counters, the retry state, the last
 * failure, and the lease's end, extended by every save. Successful batches are counted in memory
 * and saved at most every {@link SAVE_INTERVAL_MS}; a failure or a change of the retry state is
 * saved at once. A run that dies loses at most that much counting, never position: that is the
 * group's committed offset, written for every batch.
 */
import type {
  DeliveryCounters,
  DeliveryFailure,
  PartitionDeliveryState,
  SubscriptionStore,
} from '../ports/subscription-store.js';
import type { Clock } from './clock.js';
import type { RetryState } from './delivery.js';
import type { Subscription } from './subscription.js';

const SAVE_INTERVAL_MS = 1_000;

/** Delivery counters being added up. */
export class MutableCounters {
  delivered = 0;
  invocations = 0;
  errors = 0;
  deadLettered = 0;
  filtered = 0;
  discarded = 0;

  add(counts: Partial<DeliveryCounters>): void {
    this.delivered += counts.delivered ?? 0;
    this.invocations += counts.invocations ?? 0;
    this.errors += counts.errors ?? 0;
    this.deadLettered += counts.deadLettered ?? 0;
    this.filtered += counts.filtered ?? 0;
    this.discarded += counts.discarded ?? 0;
  }

  snapshot(): DeliveryCounters {
    return { ...this };
  }
}

/** The partition whose progress is saved, and the run holding its lease. */
export interface LeasedPartition {
  readonly subscription: Subscription;
  readonly partition: number;
  /** The run holding the lease. */
  readonly owner: string;
  /** A save extends the lease to now plus this. */
  readonly leaseMs: number;
}

/** One partition's unsaved progress during one run, and the lease it is saved under. */
export class DeliveryProgress {
  private readonly unsaved = new MutableCounters();
  private unsavedDeliveredAt: number | undefined;
  private savedRetry: RetryState | undefined;
  private savedAt: number;
  private leaseUntil: number;

  constructor(
    private readonly subscriptions: SubscriptionStore,
    private readonly clock: Clock,
    private readonly lease: LeasedPartition,
    state: PartitionDeliveryState,
  ) {
    this.savedRetry = state.retry;
    this.leaseUntil = state.lease?.until ?? 0;
    this.savedAt = clock.now();
  }

  /** Counts what a batch did; `delivered` when the function processed records of it. */
  count(counts: Partial<DeliveryCounters>, delivered = false): void {
    this.unsaved.add(counts);
    if (delivered) this.unsavedDeliveredAt = this.clock.now();
  }

  /** True when the lease ends within `ms`. */
  leaseEndsWithin(ms: number): boolean {
    return this.leaseUntil - this.clock.now() < ms;
  }

  /** True when progress must be saved now: a failure, a new retry state, or the interval is up. */
  isDue(failure: DeliveryFailure | undefined, retry: RetryState | undefined): boolean {
    return (
      failure !== undefined ||
      !sameRetry(retry, this.savedRetry) ||
      this.clock.now() - this.savedAt >= SAVE_INTERVAL_MS
    );
  }

  /** Saves the unsaved counters (and a failure) with the retry state; false when the lease was lost. */
  async flush(failure: DeliveryFailure | undefined, retry: RetryState | undefined): Promise<boolean> {
    const counts = this.unsaved.snapshot();
    const saved = await this.save(counts, failure, retry, this.unsavedDeliveredAt);
    if (saved) {
      this.unsaved.add(negated(counts));
      this.unsavedDeliveredAt = undefined;
    }
    return saved;
  }

  /** Saves progress and extends the lease; false when the lease was lost. */
  async save(
    counts: Partial<DeliveryCounters>,
    failure: DeliveryFailure | undefined,
    retry: RetryState | undefined,
    deliveredAt?: number,
  ): Promise<boolean> {
    const until = this.clock.now() + this.lease.leaseMs;
    const saved = await this.subscriptions.saveProgress(
      this.lease.subscription,
      this.lease.partition,
      this.lease.owner,
      {
        retry,
        counters: counts,
        leaseUntil: until,
        ...(failure ? { lastError: failure } : {}),
        ...(deliveredAt === undefined ? {} : { lastDeliveredAt: deliveredAt }),
      },
    );
    if (saved) {
      this.leaseUntil = until;
      this.savedRetry = retry;
      this.savedAt = this.clock.now();
    }
    return saved;
  }
}

function sameRetry(a: RetryState | undefined, b: RetryState | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.start === b.start && a.end === b.end && a.attempts === b.attempts && a.retryAt === b.retryAt;
}

function negated(counts: DeliveryCounters): DeliveryCounters {
  return {
    delivered: -counts.delivered,
    invocations: -counts.invocations,
    errors: -counts.errors,
    deadLettered: -counts.deadLettered,
    filtered: -counts.filtered,
    discarded: -counts.discarded,
  };
}

/**
 * Subscription answers: domain results to the API's JSON (ISO-8601 times, null for absent values).
 */
import type { Subscription } from '../domain/subscription.js';
import type { SubscriptionDescription } from '../domain/subscription-service.js';
import { isoTime } from './render.js';

/** A subscription's settings as the API shows them. */
export function renderSubscription(subscription: Subscription) {
  return {
    name: subscription.name,
    topic: subscription.topic,
    target: subscription.target,
    state: subscription.enabled ? ('Enabled' as const) : ('Disabled' as const),
    startingPosition: subscription.startingPosition,
    startingPositionTimestamp:
      subscription.startingPositionTimestamp === undefined
        ? null
        : isoTime(subscription.startingPositionTimestamp),
    batchSize: subscription.batchSize,
    maxBatchingWindowMs: subscription.maxBatchingWindowMs,
    retryAttempts: subscription.retryAttempts,
    maxRecordAgeMs: subscription.maxRecordAgeMs,
    bisectBatchOnError: subscription.bisectBatchOnError,
    reportBatchItemFailures: subscription.reportBatchItemFailures,
    onFailure: subscription.onFailure ?? null,
    outputTopic: subscription.outputTopic ?? null,
    filters: subscription.filters.map((pattern) => ({ pattern })),
    consumerGroupId: subscription.consumerGroupId,
    subscriptionId: subscription.subscriptionId,
    createdAt: isoTime(subscription.createdAt),
  };
}

/** Settings, totals and per-partition delivery, as `GET /v1/subscriptions/{name}` answers. */
export function renderSubscriptionDescription(description: SubscriptionDescription) {
  return {
    ...renderSubscription(description.subscription),
    totals: description.totals,
    partitions: description.partitions.map((row) => ({
      partition: row.partition,
      committedOffset: row.committedOffset,
      highWatermark: row.highWatermark,
      lag: row.lag,
      oldestUndeliveredAgeMs: row.oldestUndeliveredAgeMs,
      ...row.counters,
      retry: row.retry ? { attempts: row.retry.attempts, retryAt: isoTime(row.retry.retryAt) } : null,
      lastError: row.lastError
        ? { message: row.lastError.message, at: isoTime(row.lastError.at), offset: row.lastError.offset }
        : null,
      lastDeliveredAt: row.lastDeliveredAt === null ? null : isoTime(row.lastDeliveredAt),
      delivering: row.delivering,
    })),
  };
}

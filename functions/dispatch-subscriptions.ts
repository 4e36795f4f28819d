/**
 * Lambda entry of the dispatcher, the event source behind subscriptions. Two triggers wake it, and
 * nothing polls while topics are idle:
 * - the log table's stream (INSERT records: a batch was appended), within seconds of a produce:
 *   the run delivers the partitions it names;
 * - a schedule (EventBridge in AWS, a timer on the local stack): the run sweeps every partition of
 *   every enabled subscription, catching what a stream event missed and retries that were due.
 *
 * A run ends before the invocation's time is up; failures of single partitions are logged and left
 * to the next run, so the stream never blocks on one subscription. Each run publishes per
 * subscription CloudWatch metrics (EMF through Powertools Metrics, namespace `Shoal`, dimensions
 * `service` and `Subscription`).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { parseLogPartitionKey } from '../shared/adapters/dynamodb/keys.js';
import { LambdaInvoker } from '../shared/adapters/lambda/lambda-invoker.js';
import type { DispatchReport, DispatchTrigger } from '../shared/domain/dispatcher.js';
import { createLogger } from '../shared/observability/logger.js';
import {
  DIMENSION,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  SUBSCRIPTION_METRIC,
} from '../shared/observability/telemetry.js';
import type { FunctionInvoker } from '../shared/ports/function-invoker.js';
import type { ConnectionPoster } from '../shared/ports/topic-watch.js';
import { backgroundEntry, type Runtime } from '../shared/runtime.js';
import {
  type SubscriptionServicesOptions,
  subscriptionServicesFor,
} from '../shared/subscription-services.js';
import { watchNotifierFor } from '../shared/watch-services.js';

const logger = createLogger();

/** Time kept back at the end of an invocation for releasing leases and publishing metrics. */
const SAFETY_MS = 10_000;
/** A run without a Lambda context (the local stack) ends after this long at most. */
const RUN_MS_DEFAULT = 60_000;

/** What an invocation returns (and logs when it did something). */
export interface DispatchSummary {
  readonly trigger: DispatchTrigger['kind'];
  readonly subscriptions: number;
  readonly delivered: number;
  readonly invocations: number;
  readonly errors: number;
  readonly deadLettered: number;
  readonly failures: number;
  readonly durationMs: number;
}

export type DispatchHandler = (
  event: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<DispatchSummary>;

export interface DispatchHandlerOptions extends SubscriptionServicesOptions {
  /** Where delivery metrics go; false publishes none (the local stack). @default EMF on stdout */
  readonly metrics?: Metrics | false;
  /** The longest run without a Lambda context. @default 60000 */
  readonly runMsMax?: number;
  /** Where appends are announced to watching consumers. @default the watch API's, from the config */
  readonly watchPoster?: ConnectionPoster;
}

/**
 * The run a stream event asks for: the partitions of the batches it inserted. Anything else (the
 * schedule's event, a manual invocation) sweeps.
 */
export function triggerOf(event: unknown): DispatchTrigger {
  const records = (event as Partial<DynamoDBStreamEvent> | null)?.Records;
  if (!Array.isArray(records)) return { kind: 'sweep' };
  const partitions = new Map<string, { topicId: string; partition: number }>();
  for (const record of records) {
    const key = record?.dynamodb?.Keys?.pk?.S;
    if (record?.eventName === 'REMOVE' || typeof key !== 'string') continue;
    const partition = parseLogPartitionKey(key);
    if (partition) partitions.set(key, partition);
  }
  return { kind: 'appends', partitions: [...partitions.values()] };
}

/** Publishes one EMF document per subscription that the run touched. */
export function publishDeliveryMetrics(metrics: Metrics, report: DispatchReport): void {
  for (const run of report.subscriptions) {
    const { counters } = run;
    metrics.addDimension(DIMENSION.subscription, run.subscription);
    metrics.addMetric(SUBSCRIPTION_METRIC.deliveredRecords, MetricUnit.Count, counters.delivered);
    metrics.addMetric(SUBSCRIPTION_METRIC.invocations, MetricUnit.Count, counters.invocations);
    metrics.addMetric(SUBSCRIPTION_METRIC.invocationErrors, MetricUnit.Count, counters.errors);
    metrics.addMetric(SUBSCRIPTION_METRIC.deadLetteredRecords, MetricUnit.Count, counters.deadLettered);
    metrics.addMetric(SUBSCRIPTION_METRIC.filteredRecords, MetricUnit.Count, counters.filtered);
    metrics.addMetric(SUBSCRIPTION_METRIC.discardedRecords, MetricUnit.Count, counters.discarded);
    metrics.addMetric(SUBSCRIPTION_METRIC.lag, MetricUnit.Count, run.lag);
    metrics.addMetric(
      SUBSCRIPTION_METRIC.oldestUndeliveredRecordAgeMs,
      MetricUnit.Milliseconds,
      run.oldestUndeliveredAgeMs,
    );
    metrics.publishStoredMetrics();
    metrics.clearDimensions();
  }
}

export function createHandler(runtime: Runtime, options: DispatchHandlerOptions = {}): DispatchHandler {
  const invoker: FunctionInvoker =
    options.invoker ?? new LambdaInvoker(new LambdaClient({ region: runtime.config.region }));
  const { dispatcher } = subscriptionServicesFor(runtime, { ...options, invoker });
  // The namespace and service dimension of every Shoal metric, which the dashboard and alarms query.
  const metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const runMsMax = options.runMsMax ?? RUN_MS_DEFAULT;
  // Watching consumers hear of appends first: a notification is one Query and a few posts, while
  // a delivery run may take seconds. It shares this stream mapping (see `shared/watch-services.ts`).
  const notifyWatchers = watchNotifierFor(runtime, options.watchPoster);
  return async (event, context) => {
    const trigger = triggerOf(event);
    if (trigger.kind === 'appends') {
      await notifyWatchers(event).catch((error: unknown) =>
        logger.warn('Watchers were not notified; they find the records by their next poll', {
          error: error as Error,
        }),
      );
    }
    const budget = context ? context.getRemainingTimeInMillis() - SAFETY_MS : runMsMax;
    const report = await dispatcher.run(trigger, Date.now() + Math.max(0, budget));
    for (const failure of report.failures) {
      logger.error('Delivery stopped for this run; the next run retries it', {
        subscription: failure.subscription,
        partition: failure.partition,
        error: failure.error as Error,
      });
    }
    if (metrics) publishDeliveryMetrics(metrics, report);
    const total = (field: keyof DispatchReport['subscriptions'][number]['counters']) =>
      report.subscriptions.reduce((sum, run) => sum + run.counters[field], 0);
    const summary: DispatchSummary = {
      trigger: trigger.kind,
      subscriptions: report.subscriptions.length,
      delivered: total('delivered'),
      invocations: total('invocations'),
      errors: total('errors'),
      deadLettered: total('deadLettered'),
      failures: report.failures.length,
      durationMs: report.durationMs,
    };
    // A run that met trouble is worth a line; a busy topic's routine runs are not.
    if (summary.errors > 0 || summary.deadLettered > 0 || summary.failures > 0) {
      logger.info('Dispatch run', { ...summary });
    } else if (summary.invocations > 0) {
      logger.debug('Dispatch run', { ...summary });
    }
    return summary;
  };
}

export const handler: DispatchHandler = backgroundEntry(createHandler);

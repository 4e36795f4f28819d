/**
 * The metrics port: what the handlers and services report, by name, without knowing how it is
 * published. In Lambda it becomes CloudWatch embedded metric format through Powertools Metrics
 * (`powertools-telemetry.ts`); on the local stack and in tests it goes nowhere or into a list.
 *
 * The names and dimensions are shared with `infra/observability.ts`, which graphs and alarms on
 * them, so a metric cannot be renamed on one side only.
 */

/** The CloudWatch namespace of every Shoal metric. */
export const METRICS_NAMESPACE = 'Shoal';

/**
 * The dimension Powertools adds to every metric, and its value: the deployment's name, so that two
 * deployments in one account keep their metrics apart. The CDK app sets it on every function
 * (`POWERTOOLS_SERVICE_NAME`, the variable Powertools itself reads; `deploymentNameOf` in
 * `infra/shoal-function.ts`) and alarms on the same value; elsewhere (the local stack, tests) it is
 * {@link SERVICE_NAME_DEFAULT}.
 */
export const SERVICE_DIMENSION = 'service';
export const SERVICE_NAME_ENV = 'POWERTOOLS_SERVICE_NAME';
export const SERVICE_NAME_DEFAULT = 'shoal';
export const SERVICE_NAME = process.env[SERVICE_NAME_ENV] || SERVICE_NAME_DEFAULT;

/** Every metric Shoal's own code publishes but the dispatcher's per-subscription ones ({@link SUBSCRIPTION_METRIC}). */
export const METRIC = {
  /** Records appended by produce requests, per `topic`. */
  producedRecords: 'ProducedRecords',
  /** Key, value and header bytes of those records, per `topic`. */
  producedBytes: 'ProducedBytes',
  /** Fetch requests answered, per `topic`. */
  fetches: 'Fetches',
  /** Records returned by fetches, per `topic`. */
  fetchedRecords: 'FetchedRecords',
  /** Key, value and header bytes returned by fetches, per `topic`. */
  fetchedBytes: 'FetchedBytes',
  /** Records a `group` is behind (highWatermark - committed offset, summed over its partitions); only when above 0. */
  consumerLag: 'ConsumerLag',
  /** The largest lag of one partition of one group at one sample (for the alarm); only when above 0. */
  consumerLagMax: 'ConsumerLagMax',
  /** Records below the high watermark not yet in S3, per `topic` (summed over its partitions). */
  archiveLagRecords: 'ArchiveLagRecords',
  /** Age of the oldest record not yet in S3, per `topic`. */
  archiveLagAgeMs: 'ArchiveLagAgeMs',
  /** The largest ArchiveLagAgeMs of the deployment at one sample. */
  archiveLagAgeMsMax: 'ArchiveLagAgeMsMax',
  /**
   * The least time left, over all partitions, before a batch not yet in S3 may expire from DynamoDB
   * (for the archive lag alarm: at zero, batches survive only through the stream rescue).
   */
  archiveHeadroomMsMin: 'ArchiveHeadroomMsMin',
  /** DynamoDB requests the SDK sent again after a failed attempt. */
  dynamoDbRetries: 'DynamoDbRetries',
  /** DynamoDB attempts refused for capacity (each one retried or answered 429). */
  dynamoDbThrottles: 'DynamoDbThrottles',
  /** Requests the API answered 429 or 503 (busy: throttled, or an ambiguous outcome), with Retry-After. */
  throttledRequests: 'ThrottledRequests',
  /** Requests the API answered with a 5xx from a function (an unexpected failure). */
  serverErrors: 'ServerErrors',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * What the subscriptions dispatcher publishes per run and subscription, with the
 * {@link DIMENSION}.subscription dimension; the dashboard and the dead-letter alarm query them.
 */
export const SUBSCRIPTION_METRIC = {
  /** Records handed to the subscription's function and acknowledged by it. */
  deliveredRecords: 'DeliveredRecords',
  /** Invocations of the function, successful or not. */
  invocations: 'Invocations',
  /** Invocations that failed: function errors, timeouts, invalid answers, refused invocations. */
  invocationErrors: 'InvocationErrors',
  /** Records sent to the dead-letter topic after every retry failed. */
  deadLetteredRecords: 'DeadLetteredRecords',
  /** Records committed without delivery because no filter matched them. */
  filteredRecords: 'FilteredRecords',
  /** Records given up without a dead-letter topic, as Lambda discards them. */
  discardedRecords: 'DiscardedRecords',
  /** highWatermark minus the subscription's committed offset, summed over its partitions. */
  lag: 'Lag',
  /** Age of the oldest record not yet delivered. */
  oldestUndeliveredRecordAgeMs: 'OldestUndeliveredRecordAgeMs',
} as const;

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/** Dimension names of the per-resource metrics. */
export const DIMENSION = {
  topic: 'topic',
  partition: 'partition',
  group: 'group',
  subscription: 'Subscription',
} as const;

/** Dimensions besides the service, e.g. `{ topic: 'orders' }`. */
export type Dimensions = Readonly<Record<string, string>>;

/** Where metrics go. */
export interface Telemetry {
  /**
   * Adds a value to a metric with these dimensions (none: the deployment as a whole). Values are
   * buffered and published together, one document per set of dimensions, by {@link Telemetry.flush}.
   */
  count(name: MetricName, value: number, unit?: MetricUnit, dimensions?: Dimensions): void;
  /** Publishes what was buffered; called at the end of every invocation. */
  flush(): void;
}

/** Publishes nothing: the local stack and most tests. */
export const noTelemetry: Telemetry = {
  count: () => {},
  flush: () => {},
};

/** One recorded value, for tests. */
export interface RecordedMetric {
  readonly name: MetricName;
  readonly value: number;
  readonly unit: MetricUnit;
  readonly dimensions: Dimensions;
}

/** Keeps every value in memory, for tests: `flushed` holds what was published. */
export class RecordingTelemetry implements Telemetry {
  readonly flushed: RecordedMetric[] = [];
  private buffered: RecordedMetric[] = [];

  count(name: MetricName, value: number, unit: MetricUnit = 'Count', dimensions: Dimensions = {}): void {
    this.buffered.push({ name, value, unit, dimensions: { ...dimensions } });
  }

  flush(): void {
    this.flushed.push(...this.buffered);
    this.buffered = [];
  }

  /** The sum of a metric's published values with exactly these dimensions. */
  total(name: MetricName, dimensions: Dimensions = {}): number {
    const wanted = dimensionKey(dimensions);
    return this.flushed
      .filter((metric) => metric.name === name && dimensionKey(metric.dimensions) === wanted)
      .reduce((sum, metric) => sum + metric.value, 0);
  }
}

/** A stable key of a set of dimensions (order-insensitive). */
export function dimensionKey(dimensions: Dimensions): string {
  return JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

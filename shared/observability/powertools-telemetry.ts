/**
 * The Lambda side of the metrics port: CloudWatch embedded metric format on stdout through
 * Powertools Metrics, in the `Shoal` namespace with the dimension `service=shoal` on every metric.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type Dimensions,
  dimensionKey,
  METRICS_NAMESPACE,
  type MetricName,
  SERVICE_NAME,
  type MetricUnit as ShoalMetricUnit,
  type Telemetry,
} from './telemetry.js';

const UNITS: Readonly<Record<ShoalMetricUnit, (typeof MetricUnit)[keyof typeof MetricUnit]>> = {
  Count: MetricUnit.Count,
  Bytes: MetricUnit.Bytes,
  Milliseconds: MetricUnit.Milliseconds,
};

/**
 * Limits of the buffer: past them it is published early, so an entry that never flushes (a
 * background function) holds a bounded amount, and no document exceeds EMF's 100 values.
 */
const DIMENSION_SETS_MAX = 50;
const VALUES_PER_SET_MAX = 100;

/** A {@link Telemetry} publishing EMF documents, one per set of dimensions, at each flush. */
export function powertoolsTelemetry(
  metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
): Telemetry {
  const buffer = new Map<
    string,
    { dimensions: Dimensions; values: { name: MetricName; value: number; unit: ShoalMetricUnit }[] }
  >();
  const flush = () => {
    for (const { dimensions, values } of buffer.values()) {
      metrics.addDimensions({ ...dimensions });
      for (const { name, value, unit } of values) metrics.addMetric(name, UNITS[unit], value);
      metrics.publishStoredMetrics();
    }
    buffer.clear();
  };
  return {
    count(name, value, unit = 'Count', dimensions = {}) {
      const key = dimensionKey(dimensions);
      let entry = buffer.get(key);
      if (!entry) {
        if (buffer.size >= DIMENSION_SETS_MAX) flush();
        entry = { dimensions, values: [] };
        buffer.set(key, entry);
      }
      entry.values.push({ name, value, unit });
      if (entry.values.length >= VALUES_PER_SET_MAX) flush();
    },
    flush,
  };
}

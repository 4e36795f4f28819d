/**
 * Lambda entry of the lag monitor, invoked on a schedule (EventBridge): one sample of every consumer
 * group's lag and every partition's archive lag, published as CloudWatch metrics for the dashboard
 * and the alarms (`infra/observability.ts`). It only reads.
 */
import type { Context } from 'aws-lambda';
import { DynamoDbGroupStore } from '../shared/adapters/dynamodb/group-store.js';
import { DynamoDbPartitionLog } from '../shared/adapters/dynamodb/partition-log.js';
import { type CoreRuntime, getDefaultCoreRuntime, noBucket } from '../shared/core-runtime.js';
import { LIMITS } from '../shared/domain/limits.js';
import { LagMonitor, type LagSample } from '../shared/observability/lag-monitor.js';
import { createLogger } from '../shared/observability/logger.js';
import { withSourceMappedErrors } from '../shared/observability/source-maps.js';
import { servicesFor } from '../shared/services.js';

const logger = createLogger();

/** Time kept back at the end of an invocation for publishing the metrics. */
const SAFETY_MS = 5_000;
/** A sample without a Lambda context (tests) ends after this long at most. */
const RUN_MS_DEFAULT = 50_000;

export type MeasureLagHandler = (
  event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<Omit<LagSample, 'errors'> & { errors: number }>;

/** Builds the handler for a runtime; its metrics go to `runtime.telemetry`. */
export function createHandler(
  runtime: CoreRuntime,
  options: { readonly nowMs?: () => number } = {},
): MeasureLagHandler {
  const { config, documents, telemetry } = runtime;
  const { groups, topics } = servicesFor(runtime);
  const groupStore = new DynamoDbGroupStore(documents, config.metaTableName);
  // Reads partition heads and batch TTLs only: no payload objects.
  const partitionLog = new DynamoDbPartitionLog(documents, {
    logTableName: config.logTableName,
    metaTableName: config.metaTableName,
  });
  const nowMs = options.nowMs ?? Date.now;
  const monitor = new LagMonitor(
    {
      listGroups: () => groups.list(),
      readCommitted: (group) => groupStore.readOffsets(group, LIMITS.groupOffsetsListedMax),
      listTopics: () => topics.list(),
      readHeads: (topic, partitions, consistency) => partitionLog.readHeads(topic, partitions, consistency),
      // The TTL only: reading the batch would need its payload object, which this function cannot read.
      expiryOfBatchAt: (topic, partition, offset) => partitionLog.readExpiryAt(topic, partition, offset),
    },
    telemetry,
    nowMs,
  );
  return async (_event, context) => {
    const budgetMs = context ? context.getRemainingTimeInMillis() - SAFETY_MS : RUN_MS_DEFAULT;
    const sample = await monitor.sample(nowMs() + Math.max(0, budgetMs));
    for (const failure of sample.errors) {
      logger.warn('Lag of one group or topic not measured; the next sample retries', {
        subject: failure.subject,
        error: failure.error as Error,
      });
    }
    if (sample.truncated) logger.warn('Lag sample stopped at its deadline', { groups: sample.groups });
    return { ...sample, errors: sample.errors.length };
  };
}

let built: MeasureLagHandler | undefined;

export const handler: MeasureLagHandler = withSourceMappedErrors(async (event, context) => {
  // Heads, offsets and batch items only: the role has no access to the segment bucket.
  built ??= createHandler(getDefaultCoreRuntime(() => noBucket('measure-lag')));
  return built(event, context);
});

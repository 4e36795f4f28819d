/**
 * Lambda entry of the archiver, invoked on a schedule (EventBridge in AWS, a timer on the local
 * stack). One invocation is one pass over every partition; the event's content does not matter.
 */
import type { ArchiveRunReport } from '../shared/domain/archiver.js';
import { createLogger } from '../shared/observability/logger.js';
import { backgroundEntry, type Runtime } from '../shared/runtime.js';
import { type TieredStorageOptions, tieredStorageFor } from '../shared/services.js';

const logger = createLogger();

/** What an invocation returns (and logs). */
export interface ArchiveSummary {
  readonly partitions: number;
  readonly segments: number;
  readonly records: number;
  readonly batchBytes: number;
  readonly objectBytes: number;
  readonly rescuedBatches: number;
  readonly lostRaces: number;
  readonly deletedSegments: number;
  readonly errors: number;
  readonly skippedPartitions: number;
  readonly durationMs: number;
  /** The most bytes of batches and segments held at once (at most the working budget). */
  readonly workingBytesPeak: number;
}

export type ArchiveHandler = (event?: unknown) => Promise<ArchiveSummary>;

/**
 * In Lambda, a partition that had nothing to do is read again within 15 minutes (sooner for topics
 * with a short `segmentMs` or `localRetentionMs`; `ArchiverOptions.idleCheckMsMax`), not every
 * minute: at rest a run then reads a few heads instead of every partition's head and manifest.
 */
export const IDLE_CHECK_MS_MAX = 15 * 60_000;

/**
 * The share of the function's memory that the batches and segments being archived may hold
 * together (`ArchiverOptions.workingBytesMax`); the rest is Node.js, the SDK clients and the
 * responses they parse. With the default 2,048 MB, two partitions at the largest `segmentBytes`
 * (256 MiB: 533 MiB each, batches and encoded segment) or four at the default 64 MiB run at once.
 */
export const WORKING_MEMORY_SHARE = 0.6;

/** `workingBytesMax` for a function of `memoryMb` (Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`); undefined elsewhere. */
export function workingBytesFor(memoryMb: string | undefined): number | undefined {
  const mb = Number(memoryMb);
  return Number.isFinite(mb) && mb > 0 ? Math.floor(mb * 1024 * 1024 * WORKING_MEMORY_SHARE) : undefined;
}

/**
 * Builds the handler for a runtime. A partition that fails is logged and retried by the next run;
 * the invocation itself fails only when nothing could be done at all.
 */
export function createHandler(runtime: Runtime, options: TieredStorageOptions = {}): ArchiveHandler {
  const { archiver } = tieredStorageFor(runtime, {
    ...options,
    archiver: {
      idleCheckMsMax: IDLE_CHECK_MS_MAX,
      ...optional('workingBytesMax', workingBytesFor(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)),
      ...options.archiver,
    },
  });
  return async () => {
    const report = await archiver.run();
    for (const failure of report.errors) {
      logger.error('Archiving a partition failed; the next run retries it', {
        topic: failure.topic,
        partition: failure.partition,
        error: failure.error as Error,
      });
    }
    const summary = summarize(report);
    if (summary.segments > 0 || summary.deletedSegments > 0 || summary.errors > 0) {
      logger.info('Archive run', { ...summary });
    }
    if (report.errors.length > 0 && report.partitions.length === 0) {
      throw new Error(`Every partition of this archive run failed (${report.errors.length}); see the log`);
    }
    return summary;
  };
}

export function summarize(report: ArchiveRunReport): ArchiveSummary {
  const sum = (field: keyof ArchiveRunReport['partitions'][number]) =>
    report.partitions.reduce((total, partition) => total + Number(partition[field]), 0);
  return {
    partitions: report.partitions.length,
    segments: sum('segments'),
    records: sum('records'),
    batchBytes: sum('batchBytes'),
    objectBytes: sum('objectBytes'),
    rescuedBatches: sum('rescuedBatches'),
    lostRaces: sum('lostRaces'),
    deletedSegments: sum('deletedSegments'),
    errors: report.errors.length,
    skippedPartitions: report.skippedPartitions,
    durationMs: report.durationMs,
    workingBytesPeak: report.workingBytesPeak,
  };
}

export const handler: ArchiveHandler = backgroundEntry(createHandler);

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Wires adapters into domain services for one runtime. Handlers call `servicesFor(runtime)` once
 * per process. `servicesFor` and `partitionLogFor` reach the segment bucket through the runtime's
 * ports only (`CoreRuntime.bucket`), so functions that never call S3 bundle none of it; the
 * archiver's, the rescue's and the reaper's wiring takes the S3 clients (`Runtime`).
 */
import { DynamoDbGroupStore } from './adapters/dynamodb/group-store.js';
import { DynamoDbPartitionLog } from './adapters/dynamodb/partition-log.js';
import { DynamoDbSegmentManifest } from './adapters/dynamodb/segment-manifest.js';
import { DynamoDbTopicRemains } from './adapters/dynamodb/topic-remains.js';
import { DynamoDbTopicStore } from './adapters/dynamodb/topic-store.js';
import { S3SegmentObjects } from './adapters/s3/segment-objects.js';
import type { CoreRuntime } from './core-runtime.js';
import { Archiver, type ArchiverOptions } from './domain/archiver.js';
import { BatchRescuer } from './domain/archiver-rescue.js';
import { GroupService } from './domain/group-service.js';
import { LogService } from './domain/log-service.js';
import { SegmentReader, type SegmentReaderOptions } from './domain/segment-reader.js';
import { TopicCache } from './domain/topic-cache.js';
import { TopicReaper, type TopicReaperOptions } from './domain/topic-reaper.js';
import { TopicService } from './domain/topic-service.js';
import type { PresignedObjects } from './ports/record-uploads.js';
import type { Runtime } from './runtime.js';

export interface Services {
  readonly topics: TopicService;
  readonly log: LogService;
  readonly groups: GroupService;
  /** Presigned URLs to the segment bucket: uploads, and values a fetch answers by reference. */
  readonly presigned: PresignedObjects;
}

export function servicesFor(runtime: CoreRuntime): Services {
  const { config, documents } = runtime;
  // Produce and fetch read topics through this process's cache; everything else reads them fresh.
  const topicStore = new TopicCache(new DynamoDbTopicStore(documents, config.metaTableName), runtime.clock);
  const partitionLog = partitionLogFor(runtime);
  const { presigned } = runtime.bucket;
  const log = new LogService(topicStore, partitionLog, runtime.clock, segmentReaderFor(runtime), presigned);
  return {
    presigned,
    topics: new TopicService(topicStore, partitionLog),
    log,
    groups: new GroupService(
      new DynamoDbGroupStore(documents, config.metaTableName),
      topicStore,
      partitionLog,
      log,
      runtime.clock,
      partitionLog,
    ),
  };
}

/**
 * The hot tier of a runtime: batch items in the log table, heads and idempotency records in the
 * meta table, and the payload objects of large appends in the segment bucket.
 */
export function partitionLogFor(
  runtime: CoreRuntime,
  options: { readonly payloadInlineBytesMax?: number } = {},
): DynamoDbPartitionLog {
  const { config, documents } = runtime;
  return new DynamoDbPartitionLog(documents, {
    logTableName: config.logTableName,
    metaTableName: config.metaTableName,
    payloads: runtime.bucket.objects,
    ...options,
  });
}

/** The reader of a runtime's archived segments (and rescued batches), for fetches and lookups. */
export function segmentReaderFor(runtime: CoreRuntime, options?: SegmentReaderOptions): SegmentReader {
  const manifest = new DynamoDbSegmentManifest(runtime.documents, {
    metaTableName: runtime.config.metaTableName,
  });
  return new SegmentReader(manifest, runtime.bucket.objects, options);
}

/** The S3 tier's parts for one runtime: the archiver and the rescue, and the reader fetches use. */
export interface TieredStorage {
  readonly archiver: Archiver;
  readonly rescuer: BatchRescuer;
  readonly reader: SegmentReader;
  /** The segment bucket adapter (its request counts serve measurements). */
  readonly objects: S3SegmentObjects;
}

/** Options for tests and measurements. */
export interface TieredStorageOptions {
  readonly archiver?: ArchiverOptions;
  readonly reader?: SegmentReaderOptions;
}

export function tieredStorageFor(runtime: Runtime, options: TieredStorageOptions = {}): TieredStorage {
  const { config, documents, s3 } = runtime;
  const topicStore = new DynamoDbTopicStore(documents, config.metaTableName);
  const partitionLog = partitionLogFor(runtime);
  const manifest = new DynamoDbSegmentManifest(documents, { metaTableName: config.metaTableName });
  const objects = new S3SegmentObjects(s3, config.segmentBucketName);
  return {
    archiver: new Archiver(topicStore, partitionLog, manifest, objects, runtime.clock, options.archiver),
    rescuer: new BatchRescuer(manifest, objects),
    reader: new SegmentReader(manifest, objects, options.reader),
    objects,
  };
}

/** The reaper of deleted topics' data (`functions/reap-topics.ts`). */
export function topicReaperFor(runtime: Runtime, options: TopicReaperOptions = {}): TopicReaper {
  const { config, documents, s3 } = runtime;
  const remains = new DynamoDbTopicRemains(documents, {
    metaTableName: config.metaTableName,
    logTableName: config.logTableName,
  });
  return new TopicReaper(remains, new S3SegmentObjects(s3, config.segmentBucketName), runtime.clock, options);
}

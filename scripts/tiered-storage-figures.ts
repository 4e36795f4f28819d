/**
 * Figures of tiered storage on the local stack (DynamoDB Local and s3rver on this machine; AWS
 * latencies differ, request and byte counts do not): archive throughput, fetch MB/s from S3
 * segments next to hot fetches in the same run, S3 requests per MB archived and read, and stored
 * bytes per logical byte in each tier.
 *
 *   npx tsx scripts/tiered-storage-figures.ts [records] [segmentBytes] [recordsPerRequest]
 *
 * Logical bytes are the records' keys, values and header names and values (what a fetch counts
 * against maxBytes). DynamoDB bytes follow DynamoDB's item size rules (attribute names plus values).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack.js';
import { logPartitionKey } from '../shared/adapters/dynamodb/keys.js';
import { queryPages } from '../shared/adapters/dynamodb/query.js';
import { DynamoDbSegmentManifest } from '../shared/adapters/dynamodb/segment-manifest.js';
import { DynamoDbTopicStore } from '../shared/adapters/dynamodb/topic-store.js';
import { S3SegmentObjects } from '../shared/adapters/s3/segment-objects.js';
import { type Clock, systemClock } from '../shared/domain/clock.js';
import type { LogService } from '../shared/domain/log-service.js';
import { recordBytes } from '../shared/domain/record.js';
import { SegmentReader } from '../shared/domain/segment-reader.js';
import type { Topic } from '../shared/domain/topic.js';
import { servicesFor, tieredStorageFor } from '../shared/services.js';
import { makeEventRecords, seededRandom } from '../test/support/events.js';

const RECORDS = Number(process.argv[2] ?? 20_000);
const SEGMENT_BYTES = Number(process.argv[3] ?? 4 * 1024 * 1024);
const RECORDS_PER_REQUEST = Number(process.argv[4] ?? 100);
const MB = 1024 * 1024;

type Runtime = Awaited<ReturnType<typeof startLocalStack>>['runtime'];
type Read = Awaited<ReturnType<typeof readAll>>;

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'shoal-figures-'));
  const stack = await startLocalStack({ dataDir: scratch, port: 0, persistent: false, archiveIntervalMs: 0 });
  try {
    const { runtime } = stack;
    const { topics, log } = servicesFor(runtime);
    await topics.create({
      name: 'figures',
      partitions: 1,
      segmentBytes: SEGMENT_BYTES,
      segmentMs: 3_600_000,
    });
    const topic = await new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName).get(
      'figures',
    );
    if (!topic) throw new Error('topic missing');
    const logicalBytes = await produceAll(log);
    const hot = await dynamoDbBytes(runtime, topic.topicId);
    const hotRead = await readAll(log);
    const archive = await archiveAll(runtime, topic);
    const s3 = await readFromS3(runtime);
    printFigures(logicalBytes, hot, hotRead, archive, s3);
    const { coldRead, warmRead } = s3;
    if (hotRead.records !== RECORDS || coldRead.records !== RECORDS || warmRead.records !== RECORDS) {
      throw new Error(
        `Read ${hotRead.records}/${coldRead.records}/${warmRead.records} of ${RECORDS} records`,
      );
    }
  } finally {
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Produces typical ~1 KB JSON events, 100 per request (one batch item each); returns their logical bytes. */
async function produceAll(log: LogService): Promise<number> {
  const random = seededRandom(7);
  let logicalBytes = 0;
  for (let produced = 0; produced < RECORDS; produced += RECORDS_PER_REQUEST) {
    const records = makeEventRecords(
      random,
      'typical',
      Math.min(RECORDS_PER_REQUEST, RECORDS - produced),
    ).map((record) => ({ ...record, partition: 0 }));
    logicalBytes += records.reduce((sum, record) => sum + recordBytes({ ...record, offset: 0 }), 0);
    await log.produce('figures', records);
  }
  return logicalBytes;
}

/** Archives everything, the tail included (a clock past segmentMs rolls it), and times it. */
async function archiveAll(runtime: Runtime, topic: Topic) {
  const ahead: Clock = { ...systemClock, now: () => Date.now() + 3_600_000 };
  const tiers = tieredStorageFor({ ...runtime, clock: ahead });
  const archiveStarted = performance.now();
  let segments = 0;
  let objectBytes = 0;
  for (;;) {
    const report = await tiers.archiver.archivePartition(topic, 0);
    segments += report.segments;
    objectBytes += report.objectBytes;
    if (report.segments === 0) break;
  }
  const archiveMs = performance.now() - archiveStarted;
  return { segments, objectBytes, archiveMs, archivePuts: tiers.objects.counts.puts };
}

/** Fetches from S3: a cold reader (every index read once), then a warm one (indexes cached). */
async function readFromS3(runtime: Runtime) {
  const objects = new S3SegmentObjects(runtime.s3, runtime.config.segmentBucketName);
  const reader = new SegmentReader(
    new DynamoDbSegmentManifest(runtime.documents, { metaTableName: runtime.config.metaTableName }),
    objects,
  );
  const { LogService: Service } = await import('../shared/domain/log-service.js');
  const { DynamoDbPartitionLog } = await import('../shared/adapters/dynamodb/partition-log.js');
  const s3Log = new Service(
    new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName),
    new DynamoDbPartitionLog(runtime.documents, {
      logTableName: runtime.config.logTableName,
      metaTableName: runtime.config.metaTableName,
      payloads: objects,
    }),
    systemClock,
    reader,
  );
  const coldRead = await readAll(s3Log);
  const coldGets = objects.counts.gets;
  const warmRead = await readAll(s3Log);
  const warmGets = objects.counts.gets - coldGets;
  return { coldRead, coldGets, warmRead, warmGets };
}

function printFigures(
  logicalBytes: number,
  hot: { bytes: number; items: number },
  hotRead: Read,
  archive: Awaited<ReturnType<typeof archiveAll>>,
  s3: Awaited<ReturnType<typeof readFromS3>>,
): void {
  const { segments, objectBytes, archiveMs, archivePuts } = archive;
  const { coldRead, coldGets, warmRead, warmGets } = s3;
  const logicalMb = logicalBytes / MB;
  const rows: [string, string][] = [
    ['records', `${RECORDS} typical events (~1 KB JSON), ${RECORDS_PER_REQUEST} per produce request`],
    ['logical bytes', `${logicalMb.toFixed(2)} MB`],
    ['segmentBytes', `${(SEGMENT_BYTES / MB).toFixed(0)} MiB -> ${segments} segments`],
    ['DynamoDB bytes / logical byte', `${(hot.bytes / logicalBytes).toFixed(3)} (${hot.items} items)`],
    ['S3 bytes / logical byte', `${(objectBytes / logicalBytes).toFixed(3)}`],
    [
      'archive throughput',
      `${(logicalMb / (archiveMs / 1000)).toFixed(1)} logical MB/s (${archiveMs.toFixed(0)} ms)`,
    ],
    ['S3 PUTs per logical MB archived', `${(archivePuts / logicalMb).toFixed(3)}`],
    ['hot fetch', `${(logicalMb / (hotRead.ms / 1000)).toFixed(1)} MB/s (${hotRead.requests} fetches)`],
    ['S3 fetch, cold indexes', `${(logicalMb / (coldRead.ms / 1000)).toFixed(1)} MB/s`],
    ['S3 fetch, warm indexes', `${(logicalMb / (warmRead.ms / 1000)).toFixed(1)} MB/s`],
    [
      'S3 GETs per logical MB read',
      `cold ${(coldGets / logicalMb).toFixed(3)}, warm ${(warmGets / logicalMb).toFixed(3)}`,
    ],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
}

/** Reads the whole partition in fetches of at most 1000 records or 1 MB, as a consumer would. */
async function readAll(log: LogService): Promise<{ ms: number; records: number; requests: number }> {
  const started = performance.now();
  let offset = 0;
  let records = 0;
  let requests = 0;
  for (;;) {
    const page = await log.fetch('figures', 0, offset, { recordsMax: 1000, bytesMax: MB, waitMs: 0 });
    requests++;
    records += page.records.length;
    offset = page.nextOffset;
    if (offset >= page.highWatermark) break;
  }
  return { ms: performance.now() - started, records, requests };
}

/** Item bytes of the partition's batch items by DynamoDB's rules (names plus values). */
async function dynamoDbBytes(runtime: Runtime, topicId: string): Promise<{ bytes: number; items: number }> {
  let bytes = 0;
  let items = 0;
  const query = {
    TableName: runtime.config.logTableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': logPartitionKey(topicId, 0) },
  };
  for await (const page of queryPages(runtime.documents, query, () => 1000)) {
    for (const item of page) {
      items++;
      for (const [name, value] of Object.entries(item)) bytes += name.length + valueBytes(value);
    }
  }
  return { bytes, items };
}

/** DynamoDB's size of a value: strings by UTF-8 length, binaries by length, numbers ~ 1 + digits/2. */
function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'number') return 1 + Math.ceil(String(Math.abs(value)).replace(/^0+/, '').length / 2);
  throw new Error(`Unexpected attribute value ${String(value)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

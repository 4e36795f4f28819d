/**
 * Lambda entry of the TTL rescue, invoked by the log table's stream (in AWS through an event source
 * mapping filtered to TTL deletions; on the local stack by a stream follower). Every REMOVE record
 * with an old image of a batch is handed to the rescue, which keeps the batches not archived yet.
 *
 * Partial failures are reported with `batchItemFailures` (the mapping must enable
 * ReportBatchItemFailures): the stream resumes at the first batch not rescued, so nothing is
 * skipped and the batches before it are not stored twice (storing twice would be harmless anyway).
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import { parseLogPartitionKey } from '../shared/adapters/dynamodb/keys.js';
import { type RemovedBatch, RescueFailedError } from '../shared/domain/archiver-rescue.js';
import { createLogger } from '../shared/observability/logger.js';
import { backgroundEntry, type Runtime } from '../shared/runtime.js';
import { tieredStorageFor } from '../shared/services.js';

const logger = createLogger();

export type RescueHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

const wholeNumber = z
  .string()
  .regex(/^\d{1,16}$/)
  .transform(Number);

/** The old image of a batch item (see `keys.ts`), as a stream record carries it. */
const BatchImage = z.object({
  pk: z.object({ S: z.string() }),
  sk: z.object({ N: wholeNumber }),
  bo: z.object({ N: wholeNumber }),
  mt: z.object({ N: wholeNumber }),
  // Inline bytes, or (an append written through a payload object) a byte range of that object.
  d: z.object({ B: z.union([z.base64(), z.instanceof(Uint8Array)]) }).optional(),
  a: z.object({ S: z.string().min(1) }).optional(),
  ps: z.object({ N: wholeNumber }).optional(),
  pn: z.object({ N: wholeNumber }).optional(),
  pc: z.object({ N: wholeNumber }).optional(),
});

/** The bytes of a batch image: inline, or where they are in its payload object. */
function storedBytesOf(image: z.infer<typeof BatchImage>): RemovedBatch['data'] | undefined {
  if (image.d !== undefined) {
    return typeof image.d.B === 'string' ? new Uint8Array(Buffer.from(image.d.B, 'base64')) : image.d.B;
  }
  const { a, ps, pn, pc } = image;
  if (a === undefined || ps === undefined || pn === undefined || pc === undefined || pn.N === 0) {
    return undefined;
  }
  return { appendId: a.S, classDays: pc.N, start: ps.N, bytes: pn.N };
}

/** The batch a REMOVE record deleted, or undefined for any other record. */
export function removedBatchOf(record: DynamoDBRecord): RemovedBatch | undefined {
  if (record.eventName !== 'REMOVE' || record.dynamodb?.OldImage === undefined) return undefined;
  const parsed = BatchImage.safeParse(record.dynamodb.OldImage);
  if (!parsed.success) return undefined;
  const image = parsed.data;
  const key = parseLogPartitionKey(image.pk.S);
  const data = storedBytesOf(image);
  if (!key || data === undefined) return undefined;
  return {
    topicId: key.topicId,
    partition: key.partition,
    baseOffset: image.bo.N,
    lastOffset: image.sk.N,
    maxTimestampSoFar: image.mt.N,
    data,
  };
}

export function createHandler(runtime: Runtime): RescueHandler {
  const { rescuer } = tieredStorageFor(runtime);
  return async (event) => {
    const removed: { batch: RemovedBatch; record: DynamoDBRecord }[] = [];
    for (const record of event.Records) {
      const batch = removedBatchOf(record);
      if (batch) removed.push({ batch, record });
      else if (record.eventName === 'REMOVE') {
        logger.warn('A removed log table item is not a batch; ignored', { keys: record.dynamodb?.Keys });
      }
    }
    try {
      const report = await rescuer.rescue(removed.map((entry) => entry.batch));
      if (report.rescued > 0)
        logger.info('Rescued batches that expired before they were archived', { ...report });
      if (report.missing > 0) {
        logger.error('Batches outlived their payload objects: their records are gone', { ...report });
      }
      return { batchItemFailures: [] };
    } catch (error) {
      if (!(error instanceof RescueFailedError)) throw error;
      const failed = removed[error.index]?.record;
      logger.error('Rescue failed; the stream retries from the first batch not rescued', {
        error: error.cause as Error,
        ...error.report,
      });
      const itemIdentifier = failed?.dynamodb?.SequenceNumber;
      if (itemIdentifier === undefined) throw error;
      return { batchItemFailures: [{ itemIdentifier }] };
    }
  };
}

export const handler: RescueHandler = backgroundEntry(createHandler);

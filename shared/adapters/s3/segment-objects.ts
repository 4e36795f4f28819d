/**
 * The segment bucket: segment objects (`segment-format.ts`), batches rescued from the TTL stream and
 * the payload objects of large appends, named as `segment-keys.ts` says. The only module that talks to S3.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SegmentMissingError } from '../../domain/segment-format.js';
import { baseOffsetOfRescueKey, rescueKey, rescuePrefix } from '../../domain/segment-keys.js';
import type { PayloadObjects } from '../../ports/partition-log.js';
import type { RescuedBatch, SegmentObjects } from '../../ports/segment-archive.js';
import type { ObjectRemains, RemovalStep } from '../../ports/topic-remains.js';
import { isNoSuchKey } from '../sdk-errors.js';

/** Keys deleted by one DeleteObjects call (S3's limit). */
const DELETE_KEYS_MAX = 1000;
/** Keys listed by one ListObjectsV2 call (S3's limit). */
const LIST_KEYS_MAX = 1000;
const OCTET_STREAM = 'application/octet-stream';
/** User metadata of a rescued batch (S3 lower-cases metadata names). */
const RESCUE_METADATA = { lastOffset: 'last-offset', maxTimestampSoFar: 'max-timestamp-so-far' } as const;

/** Counts of S3 requests and bytes, for the figures of tiered storage (reads and writes per MB). */
export interface S3RequestCounts {
  puts: number;
  gets: number;
  lists: number;
  deletes: number;
  bytesWritten: number;
  bytesRead: number;
}

export class S3SegmentObjects implements SegmentObjects, PayloadObjects, ObjectRemains {
  /** Requests made through this instance, for measurement. */
  readonly counts: S3RequestCounts = {
    puts: 0,
    gets: 0,
    lists: 0,
    deletes: 0,
    bytesWritten: 0,
    bytesRead: 0,
  };

  constructor(
    private readonly s3: S3Client,
    private readonly bucketName: string,
  ) {}

  async putSegment(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>): Promise<void> {
    await this.putObject(key, bytes, tags);
  }

  /** Writes (or overwrites) any object of the bucket, tagged with `tags`: segments and payloads. */
  async putObject(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>): Promise<void> {
    const tagging = new URLSearchParams(Object.entries(tags)).toString();
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketName,
        Key: key,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: OCTET_STREAM,
        ...(tagging === '' ? {} : { Tagging: tagging }),
      }),
    );
    this.counts.puts++;
    this.counts.bytesWritten += bytes.byteLength;
  }

  async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end > start)) {
      throw new RangeError(`Invalid byte range ${start}..${end} of ${key}`);
    }
    let bytes: Uint8Array;
    try {
      const answer = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucketName, Key: key, Range: `bytes=${start}-${end - 1}` }),
      );
      if (!answer.Body) throw new Error(`S3 returned no body for ${key}`);
      bytes = await answer.Body.transformToByteArray();
    } catch (error) {
      if (isNoSuchKey(error)) throw new SegmentMissingError(key, { cause: error });
      throw error;
    }
    this.counts.gets++;
    this.counts.bytesRead += bytes.byteLength;
    if (bytes.byteLength !== end - start) {
      throw new Error(`S3 returned ${bytes.byteLength} bytes of ${key} for the range ${start}..${end}`);
    }
    return bytes;
  }

  async tagSegment(key: string, tags: Readonly<Record<string, string>>): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectTaggingCommand({
          Bucket: this.bucketName,
          Key: key,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    } catch (error) {
      // Retention deleted it meanwhile: nothing left to keep longer.
      if (!isNoSuchKey(error)) throw error;
    }
    this.counts.puts++;
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_KEYS_MAX) {
      const chunk = keys.slice(start, start + DELETE_KEYS_MAX);
      const answer = await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucketName,
          Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      this.counts.deletes++;
      const failed = (answer.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(
          `S3 did not delete ${failed.length} of ${chunk.length} objects (first: ${first?.Key}: ${first?.Code} ${first?.Message})`,
        );
      }
    }
  }

  /**
   * Deletes the first `keysMax` objects under `prefix` (one List, one DeleteObjects). The List asks
   * for a whole page whatever `keysMax` is: the S3 server of the local stack fails every truncated
   * ListObjectsV2 (its continuation token needs DES, which Node's OpenSSL 3 no longer offers).
   */
  async removeUnder(prefix: string, keysMax: number): Promise<RemovalStep> {
    const page = await this.s3.send(
      new ListObjectsV2Command({ Bucket: this.bucketName, Prefix: prefix, MaxKeys: LIST_KEYS_MAX }),
    );
    this.counts.lists++;
    const listed = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
    const keys = listed.slice(0, keysMax);
    await this.deleteObjects(keys);
    return { removed: keys.length, done: page.IsTruncated !== true && keys.length === listed.length };
  }

  async putRescued(topicId: string, partition: number, batch: RescuedBatch): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketName,
        Key: rescueKey(topicId, partition, batch.baseOffset),
        Body: batch.data,
        ContentLength: batch.data.byteLength,
        ContentType: OCTET_STREAM,
        Metadata: {
          [RESCUE_METADATA.lastOffset]: String(batch.lastOffset),
          [RESCUE_METADATA.maxTimestampSoFar]: String(batch.maxTimestampSoFar),
        },
      }),
    );
    this.counts.puts++;
    this.counts.bytesWritten += batch.data.byteLength;
  }

  async getRescued(
    topicId: string,
    partition: number,
    baseOffset: number,
  ): Promise<RescuedBatch | undefined> {
    const key = rescueKey(topicId, partition, baseOffset);
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketName, Key: key }));
      if (!answer.Body) throw new Error(`S3 returned no body for ${key}`);
      const data = await answer.Body.transformToByteArray();
      this.counts.gets++;
      this.counts.bytesRead += data.byteLength;
      const lastOffset = Number(answer.Metadata?.[RESCUE_METADATA.lastOffset]);
      const maxTimestampSoFar = Number(answer.Metadata?.[RESCUE_METADATA.maxTimestampSoFar]);
      if (
        !Number.isSafeInteger(lastOffset) ||
        lastOffset < baseOffset ||
        !Number.isSafeInteger(maxTimestampSoFar)
      ) {
        throw new Error(`Rescued batch ${key} lacks its offset and timestamp metadata`);
      }
      return { baseOffset, lastOffset, maxTimestampSoFar, data };
    } catch (error) {
      if (isNoSuchKey(error)) {
        this.counts.gets++;
        return undefined;
      }
      throw error;
    }
  }

  async listRescued(
    topicId: string,
    partition: number,
    belowOffset: number,
    limit: number,
  ): Promise<number[]> {
    const prefix = rescuePrefix(topicId, partition);
    const offsets: number[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucketName,
          Prefix: prefix,
          MaxKeys: Math.min(LIST_KEYS_MAX, limit - offsets.length),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      this.counts.lists++;
      for (const object of page.Contents ?? []) {
        const offset = object.Key === undefined ? undefined : baseOffsetOfRescueKey(object.Key);
        if (offset === undefined) continue;
        // Keys list in offset order (zero-padded), so the first one at or past the bound ends it.
        if (offset >= belowOffset) return offsets;
        offsets.push(offset);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined && offsets.length < limit);
    return offsets;
  }
}

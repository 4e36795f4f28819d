/**
 * Records larger than a produce request can carry (up to `recordBytesMax`, 10 MiB) reach the log in
 * two steps: the client asks for an upload and PUTs the value straight to S3 with the presigned URL
 * it gets, then a produce names the upload where the value would be (`{"type", "uploadId"}`). The
 * produce reads the upload and appends it like any record, in the same one transaction, so the
 * request stays atomic and idempotent. An upload is never visible by itself: until a produce that
 * names it commits, nothing points to it, and a lifecycle rule deletes every upload after a day or
 * two, used or not.
 *
 * An upload id carries the byte count it was granted for (`<32 hex>-<bytes>`), so a produce checks
 * the object against it without storing anything at grant time; S3 itself refuses a PUT of another
 * length, since the length is part of the signature.
 */
import { randomUUID } from 'node:crypto';
import type { PresignedObjects } from '../ports/record-uploads.js';
import { InvalidRequestError, LimitExceededError } from './errors.js';
import { LIMITS } from './limits.js';
import type { ProduceRecord, ProduceRecordInput, TypedBytes, UploadReference } from './record.js';
import { uploadKey } from './segment-keys.js';
import type { Topic } from './topic.js';

/** The shape of an upload id: 32 lower-case hex digits, `-`, the granted byte count. */
export const UPLOAD_ID_PATTERN = /^[0-9a-f]{32}-[1-9][0-9]{0,7}$/;

/** An upload granted: where to PUT the value, how, and until when. */
export interface UploadGrant {
  readonly uploadId: string;
  readonly url: string;
  readonly method: 'PUT';
  /** Headers the PUT must send as they are (the length is signed). */
  readonly headers: Readonly<Record<string, string>>;
  readonly bytes: number;
  /** Epoch ms after which the URL no longer works. */
  readonly expiresAt: number;
}

/** The byte count an upload id was granted for; undefined for an id of another shape. */
export function grantedBytesOf(uploadId: string): number | undefined {
  if (!UPLOAD_ID_PATTERN.test(uploadId)) return undefined;
  return Number(uploadId.slice(uploadId.indexOf('-') + 1));
}

/**
 * Grants an upload of exactly `bytes` bytes to `topic`.
 *
 * @throws InvalidRequestError unless `bytes` is a positive integer; LimitExceededError (413,
 *   `uploadBytes`) over `uploadBytesMax`.
 */
export async function grantUpload(
  objects: PresignedObjects,
  topic: Topic,
  bytes: number,
  now: number,
): Promise<UploadGrant> {
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new InvalidRequestError(`bytes: must be a positive integer, got ${bytes}`, 'bytes');
  }
  if (bytes > LIMITS.uploadBytesMax) {
    throw new LimitExceededError(
      `An upload holds at most ${LIMITS.uploadBytesMax} bytes (one record's value), asked for ${bytes}`,
      'uploadBytes',
      bytes,
      LIMITS.uploadBytesMax,
    );
  }
  const uploadId = `${randomUUID().replaceAll('-', '')}-${bytes}`;
  const url = await objects.presignPut(
    uploadKey(topic.topicId, uploadId),
    bytes,
    LIMITS.presignedUrlExpiresMs,
  );
  return {
    uploadId,
    url,
    method: 'PUT',
    headers: { 'content-length': String(bytes) },
    bytes,
    expiresAt: now + LIMITS.presignedUrlExpiresMs,
  };
}

/** Whether a produce value names an upload instead of holding its bytes. */
export function isUploadReference(value: ProduceRecordInput['value']): value is UploadReference {
  return value !== null && 'uploadId' in value;
}

/**
 * Checks the uploads a request names against `uploadsPerRequestMax` and, by their granted sizes,
 * `uploadBytesPerRequestMax`, before anything is read.
 *
 * @throws InvalidRequestError for an upload id of another shape; LimitExceededError over a limit.
 */
export function checkUploads(records: readonly ProduceRecordInput[]): void {
  let count = 0;
  let bytes = 0;
  records.forEach((record, index) => {
    if (!isUploadReference(record.value)) return;
    count++;
    bytes += grantedBytes(record.value, index);
  });
  if (count > LIMITS.uploadsPerRequestMax) {
    throw new LimitExceededError(
      `A produce request names at most ${LIMITS.uploadsPerRequestMax} uploads, got ${count}`,
      'uploadsPerRequest',
      count,
      LIMITS.uploadsPerRequestMax,
    );
  }
  if (bytes > LIMITS.uploadBytesPerRequestMax) {
    throw new LimitExceededError(
      `The uploads one produce request names hold at most ${LIMITS.uploadBytesPerRequestMax} bytes in all, got ${bytes}: send them in several requests`,
      'uploadBytesPerRequest',
      bytes,
      LIMITS.uploadBytesPerRequestMax,
    );
  }
}

function grantedBytes(value: UploadReference, index: number): number {
  const bytes = grantedBytesOf(value.uploadId);
  if (bytes === undefined) {
    throw new InvalidRequestError(
      `records[${index}].value.uploadId: not an upload id (${UPLOAD_ID_PATTERN})`,
      `records[${index}].value.uploadId`,
    );
  }
  return bytes;
}

/**
 * The records with each upload they name read in as its value (at most `uploadsPerRequestMax`, read
 * at once).
 *
 * @throws InvalidRequestError (400 naming the field) when an upload is missing, holds fewer bytes
 *   than granted, or is not what its type says (JSON text, UTF-8 for STRING); LimitExceededError
 *   (413, `uploadBytes`) when it holds more; RetryableError when S3 throttles or times out.
 */
export async function readUploads(
  objects: PresignedObjects,
  topic: Topic,
  records: readonly ProduceRecordInput[],
): Promise<ProduceRecord[]> {
  checkUploads(records);
  return Promise.all(
    records.map(async (record, index): Promise<ProduceRecord> => {
      const { value } = record;
      if (!isUploadReference(value)) return { ...record, value };
      return { ...record, value: await readUpload(objects, topic, value, index) };
    }),
  );
}

async function readUpload(
  objects: PresignedObjects,
  topic: Topic,
  value: UploadReference,
  index: number,
): Promise<TypedBytes> {
  const field = `records[${index}].value.uploadId`;
  const granted = grantedBytes(value, index);
  const read = await objects.readUpload(uploadKey(topic.topicId, value.uploadId), granted);
  if (read.kind === 'missing') {
    throw new InvalidRequestError(
      `${field}: no upload ${value.uploadId} in topic ${topic.name} (never uploaded, or older than a day and deleted)`,
      field,
    );
  }
  if (read.kind === 'too-large') {
    throw new LimitExceededError(
      `${field}: the upload holds ${read.objectBytes} bytes, more than the ${granted} it was granted for`,
      'uploadBytes',
      read.objectBytes,
      granted,
    );
  }
  if (read.bytes.byteLength !== granted) {
    throw new InvalidRequestError(
      `${field}: the upload holds ${read.bytes.byteLength} bytes, not the ${granted} it was granted for`,
      field,
    );
  }
  checkUploadedText(value.type, read.bytes, `records[${index}].value`);
  return { type: value.type, bytes: read.bytes };
}

/** A JSON upload must be one JSON text in UTF-8, a STRING upload UTF-8: what the API would take inline. */
function checkUploadedText(type: TypedBytes['type'], bytes: Uint8Array, field: string): void {
  if (type === 'BINARY') return;
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new InvalidRequestError(
      `${field}: a ${type} upload must be UTF-8 text; send such data as BINARY`,
      field,
    );
  }
  if (type === 'STRING') return;
  try {
    JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(
      `${field}: a JSON upload must be one JSON text: ${(error as Error).message}`,
      field,
    );
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

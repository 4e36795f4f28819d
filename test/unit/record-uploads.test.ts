/**
 * Record values sent through an upload (record-uploads.ts) on the in-memory ports: what a grant
 * holds, the bounds on one upload and on the uploads of one request, and the checks a produce
 * makes of each upload it reads in (there, of the size granted, of the type's text), each refusal
 * naming the field and appending nothing. The bucket is a map of keys to bytes behind the
 * PresignedObjects port; the S3 adapter's own behaviour is tested against the S3 server.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { InvalidRequestError, LimitExceededError, TopicNotFoundError } from '../../shared/domain/errors.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { ProduceRecordInput, TypedBytes } from '../../shared/domain/record.js';
import { grantedBytesOf, UPLOAD_ID_PATTERN } from '../../shared/domain/record-uploads.js';
import { uploadKey } from '../../shared/domain/segment-keys.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { PresignedObjects, UploadRead } from '../../shared/ports/record-uploads.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;

/** The bucket's uploads in memory: what a client PUT with the presigned URL. */
class MemoryUploads implements PresignedObjects {
  readonly objects = new Map<string, Uint8Array>();
  readonly presigned: { key: string; bytes: number; expiresInMs: number }[] = [];
  /** Keys read, in order: a produce checks what it can before reading any. */
  readonly reads: string[] = [];

  async presignPut(key: string, bytes: number, expiresInMs: number): Promise<string> {
    this.presigned.push({ key, bytes, expiresInMs });
    return `memory://uploads/${key}`;
  }

  async presignGet(key: string): Promise<string> {
    return `memory://uploads/${key}`;
  }

  async readUpload(key: string, bytesMax: number): Promise<UploadRead> {
    this.reads.push(key);
    const bytes = this.objects.get(key);
    if (!bytes) return { kind: 'missing' };
    if (bytes.byteLength > bytesMax) return { kind: 'too-large', objectBytes: bytes.byteLength };
    return { kind: 'found', bytes: bytes.slice() };
  }
}

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const uploads = new MemoryUploads();
  const log = new LogService(topics, partitionLog, clock, undefined, uploads);
  await new TopicService(topics, partitionLog, clock).create({ name: 't', partitions: 1 });
  const topic = await topics.get('t');
  if (!topic) throw new Error('created above');
  /** Grants an upload of `bytes.byteLength` bytes and PUTs `bytes` to it (fewer or more when given). */
  const upload = async (bytes: Uint8Array, granted = bytes.byteLength) => {
    const grant = await log.createUpload('t', granted);
    uploads.objects.set(uploadKey(topic.topicId, grant.uploadId), bytes);
    return grant.uploadId;
  };
  const highWatermark = async () => (await partitionLog.readHeads(topic, [0]))[0]?.highWatermark;
  return { clock, log, uploads, topic, upload, highWatermark, topics, partitionLog };
}

const named = (uploadId: string, type: TypedBytes['type'] = 'BINARY'): ProduceRecordInput => ({
  key: null,
  value: { type, uploadId },
  headers: [],
  partition: 0,
});

const utf8 = (text: string) => new TextEncoder().encode(text);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('an upload grant', () => {
  it('names its byte count in its id and signs the length for presignedUrlExpiresMs', async () => {
    const w = await world();

    const grant = await w.log.createUpload('t', 12_345);

    expect(grant.uploadId).toMatch(UPLOAD_ID_PATTERN);
    expect(grantedBytesOf(grant.uploadId)).toBe(12_345);
    expect(grant).toMatchObject({
      method: 'PUT',
      headers: { 'content-length': '12345' },
      bytes: 12_345,
      expiresAt: START + LIMITS.presignedUrlExpiresMs,
      url: `memory://uploads/${uploadKey(w.topic.topicId, grant.uploadId)}`,
    });
    expect(w.uploads.presigned).toEqual([
      {
        key: uploadKey(w.topic.topicId, grant.uploadId),
        bytes: 12_345,
        expiresInMs: LIMITS.presignedUrlExpiresMs,
      },
    ]);
  });

  it('takes 1 to uploadBytesMax bytes, and refuses anything else', async () => {
    const w = await world();

    await expect(w.log.createUpload('t', 1)).resolves.toMatchObject({ bytes: 1 });
    await expect(w.log.createUpload('t', LIMITS.uploadBytesMax)).resolves.toMatchObject({
      bytes: LIMITS.uploadBytesMax,
    });
    for (const bytes of [0, -1, 1.5, Number.NaN]) {
      expect(await rejection(w.log.createUpload('t', bytes))).toMatchObject({ field: 'bytes' });
    }
    const over = await rejection(w.log.createUpload('t', LIMITS.uploadBytesMax + 1));
    expect(over).toBeInstanceOf(LimitExceededError);
    expect(over).toMatchObject({ limit: 'uploadBytes' });
    await expect(w.log.createUpload('absent', 1)).rejects.toBeInstanceOf(TopicNotFoundError);
  });

  it('reads an id back only in its own shape', () => {
    expect(grantedBytesOf(`${'a'.repeat(32)}-7`)).toBe(7);
    expect(grantedBytesOf(`${'a'.repeat(32)}-0`)).toBeUndefined();
    expect(grantedBytesOf(`${'A'.repeat(32)}-7`)).toBeUndefined();
    expect(grantedBytesOf(`${'a'.repeat(31)}-7`)).toBeUndefined();
    expect(grantedBytesOf(`x${'a'.repeat(32)}-7`)).toBeUndefined();
  });
});

describe('a produce that names uploads', () => {
  it('appends each upload as its record value, beside inline values, in request order', async () => {
    const w = await world();
    const binary = await w.upload(new Uint8Array([0, 255, 7]));
    const json = await w.upload(utf8('{"a":[1,2]}'));
    const inline: ProduceRecordInput = {
      key: null,
      value: { type: 'STRING', bytes: utf8('inline') },
      headers: [],
      partition: 0,
    };

    const result = await w.log.produce('t', [named(binary), inline, named(json, 'JSON')]);

    expect(result.records.map((r) => r.offset)).toEqual([0, 1, 2]);
    const fetched = await w.log.fetch('t', 0, 0, { recordsMax: 10, bytesMax: 1_000_000, waitMs: 0 });
    expect(fetched.records.map((r) => r.value)).toEqual([
      { type: 'BINARY', bytes: new Uint8Array([0, 255, 7]) },
      { type: 'STRING', bytes: utf8('inline') },
      { type: 'JSON', bytes: utf8('{"a":[1,2]}') },
    ]);
  });

  it('refuses an upload that is missing, shorter or longer than granted, naming the field', async () => {
    const w = await world();
    const missing = `${'0'.repeat(32)}-3`;
    const shorter = await w.upload(new Uint8Array(2), 3);
    const longer = await w.upload(new Uint8Array(4), 3);
    const fine = await w.upload(new Uint8Array(3));

    const absent = await rejection(w.log.produce('t', [named(fine), named(missing)]));
    const short = await rejection(w.log.produce('t', [named(shorter)]));
    const long = await rejection(w.log.produce('t', [named(longer)]));

    expect(absent).toBeInstanceOf(InvalidRequestError);
    expect(absent).toMatchObject({ field: 'records[1].value.uploadId' });
    expect(short).toBeInstanceOf(InvalidRequestError);
    expect(short).toMatchObject({ field: 'records[0].value.uploadId' });
    expect(long).toBeInstanceOf(LimitExceededError);
    expect(long).toMatchObject({ limit: 'uploadBytes', value: 4, max: 3 });
    expect(await w.highWatermark()).toBe(0);
  });

  it('refuses a STRING upload that is not UTF-8 and a JSON upload that is not one JSON text', async () => {
    const w = await world();
    const notUtf8 = await w.upload(new Uint8Array([0xff, 0xfe]));
    const notJson = await w.upload(utf8('{"a":'));
    const text = await w.upload(utf8('plain text'));

    const string = await rejection(w.log.produce('t', [named(notUtf8, 'STRING')]));
    const json = await rejection(w.log.produce('t', [named(text, 'STRING'), named(notJson, 'JSON')]));
    const jsonNotUtf8 = await rejection(w.log.produce('t', [named(notUtf8, 'JSON')]));

    expect(string).toMatchObject({ field: 'records[0].value' });
    expect(json).toMatchObject({ field: 'records[1].value' });
    expect(jsonNotUtf8).toMatchObject({ field: 'records[0].value' });
    expect(await w.highWatermark()).toBe(0);
    await expect(w.log.produce('t', [named(notUtf8)])).resolves.toMatchObject({ records: [{ offset: 0 }] });
  });

  it('answers a repeat under the same Idempotency-Key with the first answer, though the upload is gone', async () => {
    const w = await world();
    const id = await w.upload(utf8('once'));
    const first = await w.log.produce('t', [named(id, 'STRING')], 'key-1');
    w.uploads.objects.clear();

    const again = await w.log.produce('t', [named(id, 'STRING')], 'key-1');

    expect(again).toEqual({ ...first, duplicate: true });
    expect(await w.highWatermark()).toBe(1);
  });

  it('refuses an upload id of another shape before reading any upload', async () => {
    const w = await world();

    const fine = await w.upload(new Uint8Array(1));

    const error = await rejection(w.log.produce('t', [named(fine), named('not-an-upload')]));

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: 'records[1].value.uploadId' });
    expect(w.uploads.reads).toEqual([]);
  });

  it('takes uploadsPerRequestMax uploads in one request and refuses one more', async () => {
    const w = await world();
    const ids = await Promise.all(
      Array.from({ length: LIMITS.uploadsPerRequestMax + 1 }, () => w.upload(new Uint8Array(1))),
    );

    const over = await rejection(
      w.log.produce(
        't',
        ids.map((id) => named(id)),
      ),
    );
    const atMost = await w.log.produce(
      't',
      ids.slice(1).map((id) => named(id)),
    );

    expect(over).toMatchObject({ limit: 'uploadsPerRequest', value: LIMITS.uploadsPerRequestMax + 1 });
    expect(atMost.records).toHaveLength(LIMITS.uploadsPerRequestMax);
  });

  it('refuses uploads over uploadBytesPerRequestMax in all, by the sizes granted, before reading them', async () => {
    const w = await world();
    const half = LIMITS.uploadBytesPerRequestMax / 2;
    // Never uploaded: the sum of the granted sizes alone refuses the request.
    const id = (n: number, bytes: number) => `${String(n).repeat(32)}-${bytes}`;

    const over = await rejection(w.log.produce('t', [named(id(1, half)), named(id(2, half + 1))]));
    const at = await rejection(w.log.produce('t', [named(id(1, half)), named(id(2, half))]));

    expect(over).toMatchObject({
      limit: 'uploadBytesPerRequest',
      value: LIMITS.uploadBytesPerRequestMax + 1,
      max: LIMITS.uploadBytesPerRequestMax,
    });
    // At the limit the request goes on to read the uploads, which are missing.
    expect(at).toMatchObject({ field: 'records[0].value.uploadId' });
  });
});

describe('upload bounds and shapes, each side of the edge', () => {
  it('reads an id of up to 8 digits of bytes, and nothing after them', () => {
    const hex = 'f'.repeat(32);

    expect(grantedBytesOf(`${hex}-99999999`)).toBe(99_999_999);
    expect(grantedBytesOf(`${hex}-100000000`)).toBeUndefined();
    expect(grantedBytesOf(`${hex}-7x`)).toBeUndefined();
    expect(grantedBytesOf(`${hex}7`)).toBeUndefined();
  });

  it('refuses a byte count past the safe integers as malformed, not as too large', async () => {
    const w = await world();

    const error = await rejection(w.log.createUpload('t', 2 ** 53));

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: 'bytes' });
  });

  it('names the limit, the value and the maximum of an upload too large to grant', async () => {
    const w = await world();

    const over = await rejection(w.log.createUpload('t', LIMITS.uploadBytesMax + 1));

    expect(over).toMatchObject({
      limit: 'uploadBytes',
      value: LIMITS.uploadBytesMax + 1,
      max: LIMITS.uploadBytesMax,
    });
    expect(w.uploads.presigned).toEqual([]);
  });

  it('names the limit and the maximum of a request that names too many uploads', async () => {
    const w = await world();
    const ids = Array.from({ length: LIMITS.uploadsPerRequestMax + 1 }, (_, n) => `${'a'.repeat(31)}${n}-1`);

    const over = await rejection(
      w.log.produce(
        't',
        ids.map((id) => named(id)),
      ),
    );

    expect(over).toBeInstanceOf(LimitExceededError);
    expect(over).toMatchObject({ max: LIMITS.uploadsPerRequestMax });
  });

  it('appends a null value beside an upload', async () => {
    const w = await world();
    const id = await w.upload(new Uint8Array([4, 2]));
    const tombstone: ProduceRecordInput = { key: null, value: null, headers: [], partition: 0 };

    await w.log.produce('t', [tombstone, named(id)]);

    const fetched = await w.log.fetch('t', 0, 0, { recordsMax: 10, bytesMax: 1_000_000, waitMs: 0 });
    expect(fetched.records.map((r) => r.value)).toEqual([
      null,
      { type: 'BINARY', bytes: new Uint8Array([4, 2]) },
    ]);
  });

  it('refuses a JSON upload that begins with a byte order mark, and keeps the mark of a STRING upload', async () => {
    const w = await world();
    const bom = [0xef, 0xbb, 0xbf];
    const json = await w.upload(new Uint8Array([...bom, ...utf8('{"a":1}')]));
    const string = await w.upload(new Uint8Array([...bom, ...utf8('hi')]));

    const refused = await rejection(w.log.produce('t', [named(json, 'JSON')]));
    await w.log.produce('t', [named(string, 'STRING')]);

    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect(refused).toMatchObject({ field: 'records[0].value' });
    const fetched = await w.log.fetch('t', 0, 0, { recordsMax: 10, bytesMax: 1_000_000, waitMs: 0 });
    expect(fetched.records.map((r) => r.value)).toEqual([
      { type: 'STRING', bytes: new Uint8Array([...bom, ...utf8('hi')]) },
    ]);
  });

  it('finds an upload only in the topic it was granted for', async () => {
    const w = await world();
    const id = await w.upload(new Uint8Array(3));
    await new TopicService(w.topics, w.partitionLog, w.clock).create({ name: 'u', partitions: 1 });

    const elsewhere = await rejection(w.log.produce('u', [named(id)]));

    expect(elsewhere).toBeInstanceOf(InvalidRequestError);
    expect(elsewhere).toMatchObject({ field: 'records[0].value.uploadId' });
    await expect(w.log.produce('t', [named(id)])).resolves.toMatchObject({ records: [{ offset: 0 }] });
  });
});

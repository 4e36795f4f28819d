/**
 * Values too large for the API's requests and answers travel straight between the client and S3,
 * by presigned URL: a producer uploads a value before the produce that names it, and a fetch
 * answer's reference (`{ type, url, range, bytes }`) is followed before the consumer sees the
 * record, so neither the caller nor the consumer's handler ever meets either.
 */
import type { z } from 'zod';
import type { FetchResponseSchema, ReferencedData, TypedData } from '../shared/http/schemas.js';
import { ShoalConnectionError } from './errors.js';

type TypedDataValue = z.output<typeof TypedData>;
type Reference = z.output<typeof ReferencedData>;
/** A fetch answer as it comes: a value may be a reference. */
export type WireFetchAnswer = z.output<typeof FetchResponseSchema>;
type WireValue = WireFetchAnswer['records'][number]['value'];

/** Attempts at one transfer to or from S3 (a 5xx or no answer is tried again). */
const TRANSFER_ATTEMPTS_MAX = 4;
const TRANSFER_BACKOFF_MS = 200;

/** The answer with every referenced value read from S3 and put in place as data. */
export async function followReferences(
  answer: WireFetchAnswer,
  signal?: AbortSignal,
): Promise<Omit<WireFetchAnswer, 'records'> & { records: ResolvedRecord[] }> {
  const records: ResolvedRecord[] = [];
  // One at a time: each may be 10 MiB, and a consumer holds the answer anyway.
  for (const record of answer.records) {
    const { value } = record;
    records.push({ ...record, value: isReference(value) ? await readReference(value, signal) : value });
  }
  return { ...answer, records };
}

/** A fetched record whose value is data. */
export type ResolvedRecord = Omit<WireFetchAnswer['records'][number], 'value'> & {
  value: TypedDataValue | null;
};

function isReference(value: WireValue): value is Reference {
  return value !== null && 'url' in value;
}

async function readReference(reference: Reference, signal?: AbortSignal): Promise<TypedDataValue> {
  const response = await transfer(
    reference.url,
    { method: 'GET', headers: { range: reference.range } },
    signal,
  );
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.byteLength !== reference.bytes) {
    throw new ShoalConnectionError(
      `GET ${new URL(reference.url).pathname}: got ${bytes.byteLength} bytes of a value of ${reference.bytes}`,
      'GET value',
    );
  }
  switch (reference.type) {
    case 'BINARY':
      return { type: 'BINARY', data: bytes.toString('base64') };
    case 'STRING':
      return { type: 'STRING', data: bytes.toString('utf8') };
    case 'JSON':
      return { type: 'JSON', data: JSON.parse(bytes.toString('utf8')) } as TypedDataValue;
  }
}

/** PUTs `bytes` to a presigned upload URL with the headers it was signed with. */
export async function putUpload(
  url: string,
  headers: Readonly<Record<string, string>>,
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  await transfer(url, { method: 'PUT', headers: { ...headers }, body: bytes }, signal);
}

/** One request to S3, tried again on a 5xx or no answer; a 4xx fails at once. */
async function transfer(url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
  const label = `${init.method} ${new URL(url).pathname}`;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    let failure: string;
    try {
      const response = await fetch(url, { ...init, ...(signal ? { signal } : {}) });
      if (response.ok) return response;
      failure = `S3 answered ${response.status}: ${(await response.text()).slice(0, 300)}`;
      if (response.status < 500) throw new ShoalConnectionError(`${label}: ${failure}`, label);
    } catch (error) {
      if (error instanceof ShoalConnectionError || signal?.aborted) throw error;
      failure = `no answer (${(error as Error).message})`;
    }
    if (attempt >= TRANSFER_ATTEMPTS_MAX) throw new ShoalConnectionError(`${label}: ${failure}`, label);
    await new Promise((resolve) => setTimeout(resolve, TRANSFER_BACKOFF_MS * 2 ** (attempt - 1)));
  }
}

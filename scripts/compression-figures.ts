/**
 * The batch codecs side by side on the benchmark's events (`test/support/events.ts`): for each
 * codec and level, stored bytes per logical byte (what DynamoDB and S3 bill) and encode and decode
 * time in ms per logical MiB (what the produce handler and every fetch pay), at 1, 10, 100 and
 * 1000 records per batch. The figures that chose {@link DEFAULT_BATCH_COMPRESSION} and
 * {@link LARGE_BATCH_COMPRESSION}.
 *
 *   node --import tsx scripts/compression-figures.ts [--runs 9] [--sizes 1,10,100,1000]
 *
 * Logical bytes are keys, values and header names and values (what a fetch counts against
 * maxBytes). Each time is the best of `runs` passes over several different batches, in CPU time: on
 * a shared machine the noise only ever adds time.
 */
import { parseArgs } from 'node:util';
import { logicalBytesOf } from '../bench/workload.js';
import type { RecordInput } from '../shared/domain/record.js';
import {
  type BatchCompression,
  DEFAULT_BATCH_COMPRESSION,
  decodeBatch,
  encodeBatch,
  LARGE_BATCH_BODY_BYTES_MIN,
  LARGE_BATCH_COMPRESSION,
} from '../shared/domain/record-codec.js';
import { type EventSizeClass, makeEventRecords, seededRandom } from '../test/support/events.js';

const CANDIDATES: readonly BatchCompression[] = [
  { codec: 'none', level: 0 },
  { codec: 'deflate-raw', level: 1 },
  { codec: 'deflate-raw', level: 3 },
  { codec: 'deflate-raw', level: 6 },
  { codec: 'gzip', level: 6 },
  { codec: 'brotli', level: 0 },
  { codec: 'brotli', level: 1 },
  { codec: 'brotli', level: 2 },
  { codec: 'brotli', level: 3 },
  { codec: 'brotli', level: 4 },
  { codec: 'brotli', level: 5 },
  { codec: 'brotli', level: 6 },
];
/** Different batches per size, so no one batch's luck decides a figure. */
const BATCHES_PER_SIZE = 4;
/** Logical bytes encoded per timed run, at least. */
const RUN_BYTES_MIN = 2 * 1024 * 1024;
const MIB = 1024 * 1024;

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '9' },
      sizes: { type: 'string', default: '1,10,100,1000' },
    },
  });
  const runs = Number(values.runs);
  const sizes = values.sizes.split(',').map(Number);
  const large = LARGE_BATCH_COMPRESSION;
  console.log(
    `default: ${DEFAULT_BATCH_COMPRESSION.codec} ${DEFAULT_BATCH_COMPRESSION.level}, ` +
      `from ${LARGE_BATCH_BODY_BYTES_MIN} body bytes ${large.codec} ${large.level}`,
  );
  console.log('each cell: stored/logical  encode and decode CPU ms per logical MiB');
  for (const sizeClass of ['small', 'typical'] as const) {
    const batches = sizes.map((size) => batchesOf(sizeClass, size));
    const header = sizes.map((size, i) => {
      const logical = logicalBytes(batches[i] ?? []) / BATCHES_PER_SIZE;
      return `${size} (${formatBytes(logical)})`.padStart(22);
    });
    console.log(`\n${sizeClass.padEnd(14)}${header.join('')}`);
    for (const compression of CANDIDATES) {
      const cells = batches.map((sizeBatches) => measure(sizeBatches, compression, runs));
      console.log(`${`${compression.codec} ${compression.level}`.padEnd(14)}${cells.join('')}`);
    }
  }
}

function batchesOf(sizeClass: EventSizeClass, size: number): RecordInput[][] {
  const random = seededRandom(7 * size + (sizeClass === 'small' ? 1 : 2));
  return Array.from({ length: BATCHES_PER_SIZE }, () => makeEventRecords(random, sizeClass, size));
}

function logicalBytes(batches: readonly (readonly RecordInput[])[]): number {
  return batches.reduce((sum, batch) => sum + batch.reduce((inner, r) => inner + logicalBytesOf(r), 0), 0);
}

/**
 * One cell: stored bytes per logical byte, and the best encode and decode CPU time per logical MiB.
 * CPU time (not wall time) so that other work on the machine adds less; each run repeats the
 * batches until they hold {@link RUN_BYTES_MIN} logical bytes, which small batches need to be timed.
 */
function measure(batches: readonly RecordInput[][], compression: BatchCompression, runs: number): string {
  const logical = logicalBytes(batches);
  const repeats = Math.ceil(RUN_BYTES_MIN / logical);
  const encoded = batches.map((batch) => encodeBatch(batch, compression));
  const stored = encoded.reduce((sum, data) => sum + data.byteLength, 0);
  const encodeAll = () => {
    for (const batch of batches) encodeBatch(batch, compression);
  };
  const decodeAll = () => {
    for (const data of encoded) decodeBatch(data, 0);
  };
  let encodeMs = Number.POSITIVE_INFINITY;
  let decodeMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run++) {
    encodeMs = Math.min(encodeMs, cpuMs(encodeAll, repeats));
    decodeMs = Math.min(decodeMs, cpuMs(decodeAll, repeats));
  }
  const perMib = (ms: number) => ((ms * MIB) / (logical * repeats)).toFixed(1).padStart(6);
  return `${(stored / logical).toFixed(3).padStart(7)} ${perMib(encodeMs)} ${perMib(decodeMs)}`;
}

/** CPU time (user and system) of `repeats` calls of `work`, in milliseconds. */
function cpuMs(work: () => void, repeats: number): number {
  const started = process.cpuUsage();
  for (let i = 0; i < repeats; i++) work();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1_000;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(0)} KiB` : `${bytes.toFixed(0)} B`;
}

main();

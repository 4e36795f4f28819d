/**
 * The consistency checker's run: producers send unique keyed records with Idempotency-Keys and
 * retry the same request on 429, 5xx and timeouts; readers tail every partition, now and then
 * "restarting" from an earlier position (at-least-once consumers do); at the end a verifier reads
 * everything with faults switched off. Everything observed is recorded as a {@link History} and
 * judged by `analyzeHistory`.
 *
 * The service is reached over HTTP only; faults are injected inside it by the caller (see
 * `faults.ts` and `target.ts`).
 */
import { randomUUID } from 'node:crypto';
import { makeEvent, seededRandom } from '../../test/support/events.js';
import { type FetchAnswer, NoAnswerError, type ProduceAnswer, ShoalClient } from '../shoal-client.js';
import {
  analyzeHistory,
  type CheckerCounts,
  type History,
  isClean,
  type Position,
  type ProduceOperation,
  type ReadOperation,
  type SentRecord,
} from './history.js';

/** Options of a check. */
export interface CheckOptions {
  /** Records to produce in all. @default 400 */
  readonly records?: number;
  /** @default 4 */
  readonly producers?: number;
  /** @default 3 */
  readonly partitions?: number;
  /** Independent readers tailing every partition. @default 2 */
  readonly readers?: number;
  /** Distinct keys per producer. @default 6 */
  readonly keysPerProducer?: number;
  /** Records per produce request, at most. @default 5 */
  readonly recordsPerRequestMax?: number;
  /** Attempts per produce request before it counts as unacknowledged. @default 40 */
  readonly attemptsMax?: number;
  /** Producers stop sending new requests after this long. @default 120000 */
  readonly produceTimeMsMax?: number;
  /** Chance that a reader restarts from its last checkpoint after a read. @default 0.05 */
  readonly readerRestartProbability?: number;
  /** @default 1 */
  readonly seed?: number;
  /** Switches injected faults on and off (the final verification runs with them off). */
  readonly faults?: { setEnabled(enabled: boolean): void; counts(): Record<string, number> };
  /** Called with a one-line status now and then. */
  readonly onProgress?: (line: string) => void;
}

/** What a check found. */
export interface CheckReport {
  readonly counts: CheckerCounts;
  readonly clean: boolean;
  readonly stats: {
    readonly produceRequests: number;
    readonly acknowledgedRecords: number;
    readonly unacknowledgedRecords: number;
    readonly attempts: number;
    /** Answers that made a producer retry, by status (`timeout` when none came). */
    readonly retriedAnswers: Readonly<Record<string, number>>;
    /** 4xx answers a correct service never gives these requests. */
    readonly unexpectedAnswers: Readonly<Record<string, number>>;
    readonly reads: number;
    readonly readerRestarts: number;
    readonly durationMs: number;
  };
  readonly faultsInjected: Readonly<Record<string, number>>;
  readonly history: History;
}

const RETRY_DELAY_MS_MAX = 250;
const READ_WAIT_MS = 100;
const READ_TIMEOUT_MS = 15_000;
const PRODUCE_TIMEOUT_MS = 15_000;
const VERIFY_PAGE_RECORDS = 1000;
const READ_ATTEMPTS_MAX = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a check against the Shoal API at `url` on a fresh topic.
 *
 * @example
 * const report = await runConsistencyCheck(api.url, { records: 300, faults });
 * if (!report.clean) process.exitCode = 1;
 */
export async function runConsistencyCheck(url: string, options: CheckOptions = {}): Promise<CheckReport> {
  const settings = {
    records: options.records ?? 400,
    producers: options.producers ?? 4,
    partitions: options.partitions ?? 3,
    readers: options.readers ?? 2,
    keysPerProducer: options.keysPerProducer ?? 6,
    recordsPerRequestMax: options.recordsPerRequestMax ?? 5,
    attemptsMax: options.attemptsMax ?? 40,
    produceTimeMsMax: options.produceTimeMsMax ?? 120_000,
    readerRestartProbability: options.readerRestartProbability ?? 0.05,
    seed: options.seed ?? 1,
  };
  const client = new ShoalClient(url);
  const runId = randomUUID().slice(0, 8);
  const topic = `check-${runId}`;
  const started = performance.now();
  const now = () => performance.now() - started;
  await client.createTopic(topic, settings.partitions);
  options.faults?.setEnabled(true);

  const produces: ProduceOperation[] = [];
  const reads: ReadOperation[] = [];
  const retriedAnswers: Record<string, number> = {};
  const unexpectedAnswers: Record<string, number> = {};
  const count = (tally: Record<string, number>, key: string) => {
    tally[key] = (tally[key] ?? 0) + 1;
  };
  let attempts = 0;
  let readerRestarts = 0;
  let producersDone = false;
  let finalHighWatermarks: number[] | undefined;

  const produceOnce = async (body: string, idempotencyKey: string): Promise<Position[] | undefined> => {
    for (let attempt = 1; attempt <= settings.attemptsMax; attempt++) {
      attempts++;
      let status: string;
      let retryAfterSeconds: number | undefined;
      try {
        const answer = await client.call('POST', `/v1/topics/${topic}/records`, {
          body,
          headers: { 'idempotency-key': idempotencyKey },
          timeoutMs: PRODUCE_TIMEOUT_MS,
        });
        if (answer.status === 200) {
          const parsed = JSON.parse(answer.text) as ProduceAnswer;
          return parsed.records.map((record) => ({ partition: record.partition, offset: record.offset }));
        }
        status = String(answer.status);
        retryAfterSeconds = answer.retryAfterSeconds;
        if (answer.status !== 429 && answer.status < 500) {
          count(unexpectedAnswers, `${answer.status} ${answer.text.slice(0, 80)}`);
          return undefined;
        }
      } catch (error) {
        if (!(error instanceof NoAnswerError)) throw error;
        status = 'timeout';
      }
      count(retriedAnswers, status);
      const backoff = Math.min(RETRY_DELAY_MS_MAX, 10 * 2 ** attempt, (retryAfterSeconds ?? Infinity) * 1000);
      await sleep(Math.random() * backoff);
    }
    return undefined;
  };

  const producer = async (index: number, quota: number) => {
    const random = seededRandom(settings.seed * 1000 + index);
    const keys = Array.from({ length: settings.keysPerProducer }, (_, k) => `${runId}-p${index}-k${k}`);
    let sent = 0;
    let requestNumber = 0;
    while (sent < quota && now() < settings.produceTimeMsMax) {
      const size = Math.min(quota - sent, 1 + Math.floor(random() * settings.recordsPerRequestMax));
      const records: SentRecord[] = Array.from({ length: size }, (_, i) => ({
        id: `${runId}-p${index}-r${sent + i}`,
        key: keys[Math.floor(random() * keys.length)] as string,
      }));
      const body = JSON.stringify({
        records: records.map((record) => ({
          key: { type: 'STRING', data: record.key },
          value: { type: 'JSON', data: { id: record.id, event: makeEvent(random, 'small') } },
        })),
      });
      const idempotencyKey = `${runId}-p${index}-q${requestNumber++}`;
      const acknowledged = await produceOnce(body, idempotencyKey);
      produces.push({
        producer: `p${index}`,
        idempotencyKey,
        records,
        ...(acknowledged === undefined ? {} : { acknowledged }),
      });
      sent += size;
    }
  };

  /** One fetch, retried until it gets a 200 answer; the read is recorded. */
  const readOnce = async (
    reader: string,
    partition: number,
    offset: number,
    maxRecords: number,
    waitMs: number,
  ): Promise<FetchAnswer> => {
    for (let attempt = 1; attempt <= READ_ATTEMPTS_MAX; attempt++) {
      const startedAtMs = now();
      try {
        const answer = await client.fetchRecords(
          topic,
          partition,
          offset,
          { maxRecords, waitMs },
          READ_TIMEOUT_MS,
        );
        if (answer.status === 200) {
          const body = JSON.parse(answer.text) as FetchAnswer;
          reads.push({
            reader,
            partition,
            fromOffset: offset,
            records: body.records.map((record) => ({
              offset: record.offset,
              id: String((record.value?.data as { id?: unknown } | undefined)?.id),
            })),
            highWatermark: body.highWatermark,
            startedAtMs,
            completedAtMs: now(),
          });
          return body;
        }
        if (answer.status !== 429 && answer.status < 500) {
          throw new Error(
            `fetch ${topic}-${partition} at ${offset}: ${answer.status} ${answer.text.slice(0, 200)}`,
          );
        }
      } catch (error) {
        if (!(error instanceof NoAnswerError)) throw error;
      }
      await sleep(Math.random() * RETRY_DELAY_MS_MAX);
    }
    throw new Error(
      `fetch ${topic}-${partition} at ${offset}: no answer after ${READ_ATTEMPTS_MAX} attempts`,
    );
  };

  const tail = async (readerIndex: number, partition: number) => {
    const random = seededRandom(settings.seed * 7919 + readerIndex * 131 + partition);
    const reader = `reader${readerIndex}`;
    let position = 0;
    let checkpoint = 0;
    for (;;) {
      const hw = finalHighWatermarks?.[partition];
      if (producersDone && hw !== undefined && position >= hw) return;
      const maxRecords = 1 + Math.floor(random() * 40);
      const body = await readOnce(reader, partition, position, maxRecords, READ_WAIT_MS);
      position = body.nextOffset;
      if (random() < settings.readerRestartProbability) {
        readerRestarts++;
        position = checkpoint;
      } else if (random() < 0.3) {
        checkpoint = position;
      }
    }
  };

  const quotas = Array.from(
    { length: settings.producers },
    (_, index) =>
      Math.floor(settings.records / settings.producers) +
      (index < settings.records % settings.producers ? 1 : 0),
  );
  const progress = setInterval(() => {
    const acked = produces.reduce((sum, op) => sum + (op.acknowledged ? op.records.length : 0), 0);
    options.onProgress?.(`produced ${acked}/${settings.records} acknowledged, ${reads.length} reads`);
  }, 1000);
  try {
    const readers = Array.from({ length: settings.readers }, (_, reader) =>
      Array.from({ length: settings.partitions }, (_, partition) => tail(reader, partition)),
    ).flat();
    await Promise.all(quotas.map((quota, index) => producer(index, quota)));
    options.faults?.setEnabled(false);
    const description = await client.describeTopic(topic);
    finalHighWatermarks = description.partitions
      .slice()
      .sort((a, b) => a.partition - b.partition)
      .map((partition) => partition.highWatermark);
    producersDone = true;
    await Promise.all(readers);
    // The verifier: every partition from offset 0 to its end, faults off.
    for (let partition = 0; partition < settings.partitions; partition++) {
      let offset = 0;
      while (offset < (finalHighWatermarks[partition] ?? 0)) {
        offset = (await readOnce('verifier', partition, offset, VERIFY_PAGE_RECORDS, 0)).nextOffset;
      }
    }
  } finally {
    clearInterval(progress);
    options.faults?.setEnabled(false);
  }

  const history: History = {
    produces,
    reads,
    commits: [],
    offsetObservations: [],
    finalHighWatermarks: finalHighWatermarks ?? [],
  };
  const counts = analyzeHistory(history);
  const acknowledgedRecords = produces.reduce(
    (sum, op) => sum + (op.acknowledged ? op.records.length : 0),
    0,
  );
  const sentRecords = produces.reduce((sum, op) => sum + op.records.length, 0);
  return {
    counts,
    clean: isClean(counts),
    stats: {
      produceRequests: produces.length,
      acknowledgedRecords,
      unacknowledgedRecords: sentRecords - acknowledgedRecords,
      attempts,
      retriedAnswers,
      unexpectedAnswers,
      reads: reads.length,
      readerRestarts,
      durationMs: now(),
    },
    faultsInjected: options.faults?.counts() ?? {},
    history,
  };
}

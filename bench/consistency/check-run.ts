/**
 * The state one consistency check shares between its workers: the service client, the topic and
 * group under test, the clock, the history being recorded, and the tallies of what the service
 * answered. It also owns the calls every worker makes, retried the same way.
 */
import { randomUUID } from 'node:crypto';
import { type Answer, type FetchAnswer, NoAnswerError, ShoalClient } from '../shoal-client.js';
import type { CommitOperation, OffsetObservation, ProduceOperation, ReadOperation } from './history.js';

/** A check's options with every default filled in. */
export interface CheckSettings {
  readonly records: number;
  readonly producers: number;
  readonly partitions: number;
  readonly consumers: number;
  readonly consumerRestarts: number;
  readonly readers: number;
  readonly keysPerProducer: number;
  readonly recordsPerRequestMax: number;
  readonly largeRequestShare: number;
  readonly largeRequestRecords: number;
  readonly attemptsMax: number;
  readonly produceTimeMsMax: number;
  readonly catchUpTimeMsMax: number;
  readonly seed: number;
}

const RETRY_DELAY_MS_MAX = 250;
const REQUEST_TIMEOUT_MS = 15_000;
const CONTROL_ATTEMPTS_MAX = 200;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A problem answer's fields the checker reads. */
export interface Problem {
  readonly reason?: string;
  readonly error_code?: number;
}

/** The problem an answer carries, or an empty one when its body is not JSON. */
export function parseProblem(answer: Answer): Problem {
  try {
    return JSON.parse(answer.text) as Problem;
  } catch {
    return {};
  }
}

/** True for answers worth retrying: throttled, server-side failure, or none at all. */
export function retriable(answer: Answer | undefined): boolean {
  return answer === undefined || answer.status === 429 || answer.status >= 500;
}

/** Adds one to `tally[key]`. */
export function count(tally: Record<string, number>, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1;
}

/** One check's shared state and calls; workers read and write its fields. */
export class CheckRun {
  readonly client: ShoalClient;
  readonly runId = randomUUID().slice(0, 8);
  readonly topic = `check-${this.runId}`;
  readonly group = `check-${this.runId}-g`;
  private readonly started = performance.now();

  readonly produces: ProduceOperation[] = [];
  readonly reads: ReadOperation[] = [];
  readonly commits: CommitOperation[] = [];
  readonly offsetObservations: OffsetObservation[] = [];
  readonly tallies = {
    retried: {} as Record<string, number>,
    unexpected: {} as Record<string, number>,
    refused: {} as Record<string, number>,
  };
  attempts = 0;
  readerRestarts = 0;
  consumerRestarts = 0;
  producersDone = false;
  finished = false;
  finalHighWatermarks: number[] | undefined;
  archiveRuns = 0;
  archiveErrors = 0;
  archivedRecords = 0;

  constructor(
    url: string,
    readonly settings: CheckSettings,
  ) {
    this.client = new ShoalClient(url);
  }

  /** Milliseconds since the run started. */
  now(): number {
    return performance.now() - this.started;
  }

  /** One call, retried while the answer is retriable; returns the last answer (undefined: none came). */
  async callWithRetries(
    method: string,
    path: string,
    body?: string,
    headers?: Record<string, string>,
    attemptsMax = CONTROL_ATTEMPTS_MAX,
  ): Promise<Answer | undefined> {
    let answer: Answer | undefined;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      this.attempts++;
      try {
        answer = await this.client.call(method, path, {
          ...(body === undefined ? {} : { body }),
          ...(headers === undefined ? {} : { headers }),
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      } catch (error) {
        if (!(error instanceof NoAnswerError)) throw error;
        answer = undefined;
      }
      if (!retriable(answer)) return answer;
      count(this.tallies.retried, answer === undefined ? 'timeout' : String(answer.status));
      const backoff = Math.min(
        RETRY_DELAY_MS_MAX,
        10 * 2 ** attempt,
        (answer?.retryAfterSeconds ?? Infinity) * 1000,
      );
      await sleep(Math.random() * backoff);
    }
    return answer;
  }

  /** A call that must succeed; returns its parsed body. */
  async expectOk<T>(method: string, path: string, body?: string): Promise<T> {
    const answer = await this.callWithRetries(method, path, body);
    if (answer === undefined || answer.status >= 300) {
      throw new Error(
        `${method} ${path}: ${answer?.status ?? 'no answer'} ${answer?.text.slice(0, 200) ?? ''}`,
      );
    }
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
  }

  /** One fetch, retried until a 200 answer, which is recorded. */
  async readOnce(
    reader: string,
    partition: number,
    offset: number,
    maxRecords: number,
    waitMs: number,
    readerGroup?: string,
  ): Promise<FetchAnswer> {
    for (let attempt = 1; attempt <= CONTROL_ATTEMPTS_MAX; attempt++) {
      const startedAtMs = this.now();
      let answer: Answer | undefined;
      try {
        answer = await this.client.fetchRecords(
          this.topic,
          partition,
          offset,
          { maxRecords, waitMs },
          REQUEST_TIMEOUT_MS,
        );
      } catch (error) {
        if (!(error instanceof NoAnswerError)) throw error;
      }
      if (answer?.status === 200) {
        const body = JSON.parse(answer.text) as FetchAnswer;
        this.recordRead(reader, readerGroup, partition, offset, body, startedAtMs);
        return body;
      }
      if (answer !== undefined && !retriable(answer)) {
        throw new Error(
          `fetch ${this.topic}-${partition} at ${offset}: ${answer.status} ${answer.text.slice(0, 200)}`,
        );
      }
      await sleep(Math.random() * RETRY_DELAY_MS_MAX);
    }
    throw new Error(
      `fetch ${this.topic}-${partition} at ${offset}: no answer after ${CONTROL_ATTEMPTS_MAX} attempts`,
    );
  }

  private recordRead(
    reader: string,
    readerGroup: string | undefined,
    partition: number,
    fromOffset: number,
    body: FetchAnswer,
    startedAtMs: number,
  ): void {
    this.reads.push({
      reader,
      ...(readerGroup === undefined ? {} : { group: readerGroup }),
      partition,
      fromOffset,
      records: body.records.map((record) => ({
        offset: record.offset,
        id: String((record.value?.data as { id?: unknown } | undefined)?.id),
      })),
      highWatermark: body.highWatermark,
      startedAtMs,
      completedAtMs: this.now(),
    });
  }

  /** The group's committed offset of each partition of the topic that has one. */
  async committedOffsets(): Promise<Map<number, number>> {
    const described = await this.expectOk<{
      offsets: { topic: string; partition: number; committedOffset: number | null }[];
    }>('GET', `/v1/groups/${this.group}`);
    return new Map(
      described.offsets
        .filter((row) => row.topic === this.topic && row.committedOffset !== null)
        .map((row) => [row.partition, row.committedOffset as number]),
    );
  }

  /** Records acknowledged by the service so far. */
  acknowledgedRecords(): number {
    return this.produces.reduce((sum, op) => sum + (op.acknowledged ? op.records.length : 0), 0);
  }
}

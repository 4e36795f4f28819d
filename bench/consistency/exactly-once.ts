/**
 * The checker's exactly-once pipeline (issue 14): consumers in one group read topic A, transform
 * each record and send the results to topic B together with their input offsets in one request
 * (`POST /v1/groups/{group}/transactions`), while a producer keeps appending to A, members crash
 * (silent until their session times out) and come back, their zombies later send the transaction
 * they had prepared, requests are retried with the same Idempotency-Key, and DynamoDB calls are
 * throttled, conflict, time out after writing and the handler crashes part way (`faults.ts`).
 *
 * At the end, with faults off: every input record appears in B exactly once, in input order per
 * key, the group's committed offsets equal A's high watermarks, and no zombie wrote anything.
 */
import { randomUUID } from 'node:crypto';
import { seededRandom } from '../../test/support/events.js';
import { type Answer, NoAnswerError, ShoalClient } from '../shoal-client.js';
import type { CheckFaults } from './faults.js';

/** Options of one pipeline run; everything but the URL has a default. */
export interface ExactlyOnceOptions {
  /** Records produced to A. @default 300 */
  readonly records?: number;
  /** Partitions of A. @default 3 */
  readonly inputPartitions?: number;
  /** Partitions of B. @default 2 */
  readonly outputPartitions?: number;
  /** Consumers running at once. @default 3 */
  readonly consumers?: number;
  /** Crashes over the run, each followed by the crashed member's zombie and a restart. @default 3 */
  readonly crashes?: number;
  /** Keys of the input records (order is checked per key). @default 12 */
  readonly keys?: number;
  /** How long to wait for the group to commit everything produced. @default 90000 */
  readonly catchUpTimeMsMax?: number;
  readonly faults?: CheckFaults;
  /** @default 1 */
  readonly seed?: number;
  readonly onProgress?: (line: string) => void;
}

/** What must be zero. */
export const EXACTLY_ONCE_COLUMNS = [
  { name: 'missing', description: 'input records acknowledged in A and absent from B' },
  { name: 'duplicated', description: 'extra copies of an input record in B' },
  { name: 'reordered', description: 'records of one key in B out of their order in A' },
  { name: 'offsetsOff', description: 'partitions of A whose committed offset is not the high watermark' },
  { name: 'zombieWrites', description: 'transactions of a member fenced by a rebalance that were applied' },
  { name: 'unexpected', description: 'answers outside the expected set (not 200, 409, 429, 5xx)' },
] as const;

export type ExactlyOnceColumn = (typeof EXACTLY_ONCE_COLUMNS)[number]['name'];

export interface ExactlyOnceReport {
  readonly counts: Record<ExactlyOnceColumn, number>;
  readonly stats: {
    readonly inputRecords: number;
    readonly outputRecords: number;
    readonly transactions: number;
    readonly retried: number;
    readonly fenced: number;
    readonly crashes: number;
    readonly zombieAttempts: number;
    readonly caughtUp: boolean;
    readonly unexpectedAnswers: Record<string, number>;
    readonly elapsedMs: number;
  };
  readonly faultsInjected: Record<string, number>;
  readonly clean: boolean;
}

const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 600;
const FETCH_RECORDS_MAX = 12;
const PRODUCE_BATCH = 20;
const REQUEST_TIMEOUT_MS = 15_000;
const ATTEMPTS_MAX = 100;
const RETRY_DELAY_MS_MAX = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One input record's identity, as carried from A to B. */
interface Carried {
  readonly id: string;
  readonly key: string;
  readonly seq: number;
}

/** A transaction a member prepared: what it sends, retried with one key. */
interface Prepared {
  readonly partition: number;
  readonly nextOffset: number;
  readonly body: string;
}

/** Runs the pipeline against the service at `url` and checks its output. */
export async function runExactlyOncePipeline(
  url: string,
  options: ExactlyOnceOptions = {},
): Promise<ExactlyOnceReport> {
  const pipeline = new Pipeline(url, options);
  return pipeline.run();
}

class Pipeline {
  private readonly client: ShoalClient;
  private readonly runId = randomUUID().slice(0, 8);
  readonly input = `eos-${this.runId}-a`;
  readonly output = `eos-${this.runId}-b`;
  readonly group = `eos-${this.runId}-g`;
  private readonly random: () => number;
  private readonly settings: Required<Omit<ExactlyOnceOptions, 'faults' | 'onProgress'>>;
  private readonly started = performance.now();
  private readonly produced: Carried[] = [];
  private producing = true;
  private stopping = false;
  private crashesLeft: number;
  private zombies: Promise<void>[] = [];
  readonly tallies = {
    transactions: 0,
    retried: 0,
    fenced: 0,
    crashes: 0,
    zombieAttempts: 0,
    zombieWrites: 0,
    unexpected: {} as Record<string, number>,
  };

  constructor(
    url: string,
    private readonly options: ExactlyOnceOptions,
  ) {
    this.client = new ShoalClient(url);
    this.settings = {
      records: options.records ?? 300,
      inputPartitions: options.inputPartitions ?? 3,
      outputPartitions: options.outputPartitions ?? 2,
      consumers: options.consumers ?? 3,
      crashes: options.crashes ?? 3,
      keys: options.keys ?? 12,
      catchUpTimeMsMax: options.catchUpTimeMsMax ?? 90_000,
      seed: options.seed ?? 1,
    };
    this.random = seededRandom(this.settings.seed);
    this.crashesLeft = this.settings.crashes;
  }

  async run(): Promise<ExactlyOnceReport> {
    await this.client.createTopic(this.input, this.settings.inputPartitions);
    await this.client.createTopic(this.output, this.settings.outputPartitions);
    this.options.faults?.setEnabled(true);
    const consumers = Array.from({ length: this.settings.consumers }, (_, index) => this.consume(index));
    await this.produce();
    const caughtUp = await this.waitForCatchUp();
    this.stopping = true;
    await Promise.all(consumers);
    await Promise.all(this.zombies);
    this.options.faults?.setEnabled(false);
    return this.verify(caughtUp);
  }

  /** Appends the input, keyed, each request idempotent and retried until acknowledged. */
  private async produce(): Promise<void> {
    const seqs = new Map<string, number>();
    for (let start = 0; start < this.settings.records; start += PRODUCE_BATCH) {
      const batch: Carried[] = [];
      for (let n = start; n < Math.min(this.settings.records, start + PRODUCE_BATCH); n++) {
        const key = `k${Math.floor(this.random() * this.settings.keys)}`;
        const seq = seqs.get(key) ?? 0;
        seqs.set(key, seq + 1);
        batch.push({ id: `a-${n}`, key, seq });
      }
      const body = JSON.stringify({
        records: batch.map((record) => ({
          key: { type: 'STRING', data: record.key },
          value: { type: 'JSON', data: record },
        })),
      });
      const answer = await this.callWithRetries('POST', `/v1/topics/${this.input}/records`, body, {
        'idempotency-key': `produce-${this.runId}-${start}`,
      });
      if (answer?.status !== 200) throw new Error(`produce to ${this.input}: ${describe(answer)}`);
      this.produced.push(...batch);
      this.options.onProgress?.(`exactly once: ${this.produced.length}/${this.settings.records} produced`);
    }
    this.producing = false;
  }

  /** One consumer slot: a member that runs until stopped, crashing (and coming back) when told. */
  private async consume(slot: number): Promise<void> {
    while (!this.stopping) {
      const member = new Member(this, slot);
      const crashedWith = await member.run();
      if (crashedWith === 'stopped') return;
      // Crashed: silent from now on. Its zombie wakes after the session timed out and sends what
      // it had prepared, as a paused process would; meanwhile the slot restarts as a new member.
      this.tallies.crashes++;
      this.zombies.push(this.zombie(crashedWith));
    }
  }

  private async zombie(prepared: Prepared | undefined): Promise<void> {
    if (!prepared) return;
    await sleep(SESSION_TIMEOUT_MS + 1_500);
    this.tallies.zombieAttempts++;
    const answer = await this.callWithRetries(
      'POST',
      `/v1/groups/${this.group}/transactions`,
      prepared.body,
      { 'idempotency-key': randomUUID() },
    );
    if (answer?.status === 200) this.tallies.zombieWrites++;
    else if (answer?.status !== 409) this.unexpected(`zombie ${describe(answer)}`);
  }

  /** True once the committed offsets equal A's high watermarks after the last produce. */
  private async waitForCatchUp(): Promise<boolean> {
    const deadline = performance.now() + this.settings.catchUpTimeMsMax;
    while (performance.now() < deadline) {
      if (await this.offsetsAtEnd()) return true;
      await sleep(300);
    }
    return false;
  }

  private async offsetsAtEnd(): Promise<boolean> {
    return (await this.offsetsOff()) === 0;
  }

  /** Partitions of A whose committed offset is not (yet) the high watermark. */
  async offsetsOff(): Promise<number> {
    const topic = await this.expectOk<{ partitions: { partition: number; highWatermark: number }[] }>(
      'GET',
      `/v1/topics/${this.input}`,
    );
    const committed = await this.committedOffsets();
    return topic.partitions.filter((p) => committed.get(p.partition) !== p.highWatermark).length;
  }

  /** The group's committed offset of each partition of A that has one. */
  async committedOffsets(): Promise<Map<number, number>> {
    const answer = await this.callWithRetries('GET', `/v1/groups/${this.group}`);
    if (answer?.status === 404) return new Map();
    if (answer?.status !== 200) throw new Error(`describe ${this.group}: ${describe(answer)}`);
    const described = JSON.parse(answer.text) as {
      offsets: { topic: string; partition: number; committedOffset: number | null }[];
    };
    return new Map(
      described.offsets
        .filter((row) => row.topic === this.input && row.committedOffset !== null)
        .map((row) => [row.partition, row.committedOffset as number]),
    );
  }

  /**
   * Whether this member should crash now: after every `crashSpacing` transactions, up to the
   * run's number of crashes, so a short run crashes as often as asked.
   */
  shouldCrash(): boolean {
    const crashed = this.settings.crashes - this.crashesLeft;
    if (this.crashesLeft <= 0 || this.tallies.transactions < (crashed + 1) * this.crashSpacing) return false;
    this.crashesLeft--;
    return true;
  }

  /** Transactions between crashes: the run's expected transactions spread over its crashes. */
  private get crashSpacing(): number {
    return Math.max(2, Math.floor(this.settings.records / FETCH_RECORDS_MAX / (this.settings.crashes + 1)));
  }

  get done(): boolean {
    return this.stopping;
  }

  get produceDone(): boolean {
    return !this.producing;
  }

  unexpected(what: string): void {
    this.tallies.unexpected[what] = (this.tallies.unexpected[what] ?? 0) + 1;
  }

  /** One call, retried with the same headers while the answer is retriable (none, 429, 5xx). */
  async callWithRetries(
    method: string,
    path: string,
    body?: string,
    headers?: Record<string, string>,
  ): Promise<Answer | undefined> {
    let answer: Answer | undefined;
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
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
      if (answer !== undefined && answer.status !== 429 && answer.status < 500) return answer;
      this.tallies.retried++;
      const backoff = Math.min(
        RETRY_DELAY_MS_MAX,
        10 * 2 ** attempt,
        (answer?.retryAfterSeconds ?? 1) * 1000,
      );
      await sleep(Math.random() * backoff);
    }
    return answer;
  }

  async expectOk<T>(method: string, path: string, body?: string): Promise<T> {
    const answer = await this.callWithRetries(method, path, body);
    if (answer === undefined || answer.status >= 300)
      throw new Error(`${method} ${path}: ${describe(answer)}`);
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
  }

  /** Reads B whole (faults off) and checks it against what was produced to A. */
  private async verify(caughtUp: boolean): Promise<ExactlyOnceReport> {
    const seen = new Map<string, number>();
    const lastSeqOfKey = new Map<string, number>();
    let reordered = 0;
    let outputRecords = 0;
    for (let partition = 0; partition < this.settings.outputPartitions; partition++) {
      let offset = 0;
      for (;;) {
        const answer = await this.callWithRetries(
          'GET',
          `/v1/topics/${this.output}/partitions/${partition}/records?offset=${offset}&maxRecords=1000`,
        );
        if (answer?.status !== 200) throw new Error(`read ${this.output}-${partition}: ${describe(answer)}`);
        const page = JSON.parse(answer.text) as {
          records: { value: { data: Carried } }[];
          nextOffset: number;
          highWatermark: number;
        };
        for (const record of page.records) {
          const carried = record.value.data;
          outputRecords++;
          seen.set(carried.id, (seen.get(carried.id) ?? 0) + 1);
          // Same key, same partition of B: its records must come in A's order.
          const last = lastSeqOfKey.get(carried.key);
          if (last !== undefined && carried.seq <= last) reordered++;
          lastSeqOfKey.set(carried.key, Math.max(last ?? -1, carried.seq));
        }
        offset = page.nextOffset;
        if (page.records.length === 0 || offset >= page.highWatermark) break;
      }
    }
    const missing = this.produced.filter((record) => !seen.has(record.id)).length;
    const duplicated = [...seen.values()].reduce((sum, times) => sum + times - 1, 0);
    const counts: Record<ExactlyOnceColumn, number> = {
      missing,
      duplicated,
      reordered,
      offsetsOff: await this.offsetsOff(),
      zombieWrites: this.tallies.zombieWrites,
      unexpected: Object.values(this.tallies.unexpected).reduce((sum, n) => sum + n, 0),
    };
    return {
      counts,
      stats: {
        inputRecords: this.produced.length,
        outputRecords,
        transactions: this.tallies.transactions,
        retried: this.tallies.retried,
        fenced: this.tallies.fenced,
        crashes: this.tallies.crashes,
        zombieAttempts: this.tallies.zombieAttempts,
        caughtUp,
        unexpectedAnswers: this.tallies.unexpected,
        elapsedMs: Math.round(performance.now() - this.started),
      },
      faultsInjected: this.options.faults?.counts() ?? {},
      clean: Object.values(counts).every((n) => n === 0) && caughtUp,
    };
  }
}

/**
 * A consume-transform-produce member: joins, fetches a partition it owns from its position, and
 * sends the transformed records with the next offset in one transaction, retried with one
 * Idempotency-Key. Fenced (409), it rejoins and starts from the committed offsets.
 */
class Member {
  private memberId = '';
  private generation = 0;
  private owned: number[] = [];
  private positions = new Map<number, number>();
  private lastHeartbeat = 0;
  private turn = 0;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly slot: number,
  ) {}

  /** Runs until the pipeline stops ('stopped') or this member crashes (with what it had prepared). */
  async run(): Promise<'stopped' | Prepared | undefined> {
    await this.join();
    while (!this.pipeline.done) {
      if (performance.now() - this.lastHeartbeat > HEARTBEAT_INTERVAL_MS) await this.heartbeat();
      const partition = this.owned[this.turn++ % Math.max(1, this.owned.length)];
      if (partition === undefined) {
        await sleep(100);
        continue;
      }
      const prepared = await this.prepare(partition);
      if (!prepared) {
        await sleep(this.pipeline.produceDone ? 100 : 30);
        continue;
      }
      if (this.pipeline.shouldCrash()) return this.pipeline.done ? 'stopped' : prepared;
      await this.send(prepared);
    }
    await this.pipeline.callWithRetries(
      'DELETE',
      `/v1/groups/${this.pipeline.group}/members/${this.memberId}`,
    );
    return 'stopped';
  }

  private async join(): Promise<void> {
    const joined = await this.pipeline.expectOk<{
      memberId: string;
      generation: number;
      assignments: { partition: number }[];
    }>(
      'POST',
      `/v1/groups/${this.pipeline.group}/members`,
      JSON.stringify({ topics: [this.pipeline.input], sessionTimeoutMs: SESSION_TIMEOUT_MS }),
    );
    this.memberId = joined.memberId;
    await this.adopt(joined.generation, joined.assignments);
  }

  /** A generation's assignments, with every position read from the committed offsets. */
  private async adopt(generation: number, assignments: { partition: number }[]): Promise<void> {
    this.generation = generation;
    this.owned = assignments.map((tp) => tp.partition);
    this.lastHeartbeat = performance.now();
    const committed = await this.pipeline.committedOffsets();
    this.positions = new Map(this.owned.map((partition) => [partition, committed.get(partition) ?? 0]));
  }

  /** Heartbeats; `force` re-reads the positions even when the generation did not change. */
  private async heartbeat(force = false): Promise<void> {
    const answer = await this.pipeline.callWithRetries(
      'POST',
      `/v1/groups/${this.pipeline.group}/members/${this.memberId}/heartbeat`,
      JSON.stringify({ generation: this.generation }),
    );
    if (answer?.status === 200) {
      const body = JSON.parse(answer.text) as { generation: number; assignments: { partition: number }[] };
      if (force || body.generation !== this.generation) await this.adopt(body.generation, body.assignments);
      else this.lastHeartbeat = performance.now();
      return;
    }
    if (answer?.status === 409) return this.join();
    this.pipeline.unexpected(`heartbeat ${describe(answer)}`);
    await this.join();
  }

  /** Fetches from the partition's position and builds the transaction; undefined when nothing is new. */
  private async prepare(partition: number): Promise<Prepared | undefined> {
    const position = this.positions.get(partition) ?? 0;
    const answer = await this.pipeline.callWithRetries(
      'GET',
      `/v1/topics/${this.pipeline.input}/partitions/${partition}/records?offset=${position}&maxRecords=${FETCH_RECORDS_MAX}`,
    );
    if (answer?.status !== 200) {
      this.pipeline.unexpected(`fetch ${describe(answer)}`);
      return undefined;
    }
    const page = JSON.parse(answer.text) as { records: { value: { data: Carried } }[]; nextOffset: number };
    if (page.records.length === 0) return undefined;
    const records = page.records.map((record) => {
      const carried = record.value.data;
      // The transform: anything deterministic; the carried identity is what the check reads.
      return {
        key: { type: 'STRING', data: carried.key },
        value: { type: 'JSON', data: { ...carried, by: this.slot } },
      };
    });
    return {
      partition,
      nextOffset: page.nextOffset,
      body: JSON.stringify({
        memberId: this.memberId,
        generation: this.generation,
        topics: [{ topic: this.pipeline.output, records }],
        offsets: [{ topic: this.pipeline.input, partition, offset: page.nextOffset }],
      }),
    };
  }

  /** Sends one transaction, retried with its one Idempotency-Key until it is answered. */
  private async send(prepared: Prepared): Promise<void> {
    const answer = await this.pipeline.callWithRetries(
      'POST',
      `/v1/groups/${this.pipeline.group}/transactions`,
      prepared.body,
      { 'idempotency-key': randomUUID() },
    );
    this.pipeline.tallies.transactions++;
    if (answer?.status === 200) {
      this.positions.set(prepared.partition, prepared.nextOffset);
      this.lastHeartbeat = performance.now(); // a transaction counts as a heartbeat
      return;
    }
    if (answer?.status === 409) {
      this.pipeline.tallies.fenced++;
      await this.heartbeat(true);
      return;
    }
    this.pipeline.unexpected(`transaction ${describe(answer)}`);
    await this.join();
  }
}

function describe(answer: Answer | undefined): string {
  return answer === undefined ? 'no answer' : `${answer.status} ${answer.text.slice(0, 160)}`;
}

/** The report as a small table. */
export function renderExactlyOnceReport(report: ExactlyOnceReport): string {
  const lines = [
    'exactly-once pipeline (A → transform → B with offsets)',
    ...EXACTLY_ONCE_COLUMNS.map(
      (column) =>
        `  ${column.name.padEnd(13)} ${String(report.counts[column.name]).padStart(6)}  ${column.description}`,
    ),
    `  input ${report.stats.inputRecords}, output ${report.stats.outputRecords}, transactions ${report.stats.transactions}, retried ${report.stats.retried}, fenced ${report.stats.fenced}, crashes ${report.stats.crashes}, zombie attempts ${report.stats.zombieAttempts}, caught up ${report.stats.caughtUp}, ${report.stats.elapsedMs} ms`,
    `  faults injected: ${JSON.stringify(report.faultsInjected)}`,
  ];
  if (Object.keys(report.stats.unexpectedAnswers).length > 0) {
    lines.push(`  unexpected: ${JSON.stringify(report.stats.unexpectedAnswers)}`);
  }
  return lines.join('\n');
}

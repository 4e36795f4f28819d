/**
 * The consistency checker's run, Jepsen-style: everything clients do and see is recorded as a
 * {@link History}, which `analyzeHistory` then judges.
 *
 * - Producers send unique keyed records with Idempotency-Keys, one request at a time, retrying the
 *   same request on 429, 5xx and timeouts.
 * - Consumers in one group read every partition they are assigned and commit after processing
 *   (at least once); members are restarted during the run, some cleanly (leave), some by crashing
 *   (silent until their session expires). Now and then a member probes the service with a commit
 *   it must refuse: below its last commit, or above the high watermark.
 * - An independent reader tails every partition outside the group, restarting from an earlier
 *   position now and then, so every offset is read by more than one reader.
 * - An observer polls the group's description for committed offsets and high watermarks.
 * - At the end a verifier reads everything with faults switched off.
 *
 * The service is reached over HTTP only; faults are injected inside it by the caller (`faults.ts`).
 */
import { randomUUID } from 'node:crypto';
import { makeEvent, seededRandom } from '../../test/support/events.js';
import {
  type Answer,
  type FetchAnswer,
  NoAnswerError,
  type ProduceAnswer,
  ShoalClient,
} from '../shoal-client.js';
import {
  analyzeHistory,
  type CheckerCounts,
  type CommitOperation,
  type History,
  isClean,
  type OffsetObservation,
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
  /** Consumers in the group at any time. @default 3 */
  readonly consumers?: number;
  /** Member restarts (half crashes, half clean leaves) while producers run. @default 4 */
  readonly consumerRestarts?: number;
  /** Independent readers tailing every partition outside the group. @default 1 */
  readonly readers?: number;
  /** Distinct keys per producer. @default 6 */
  readonly keysPerProducer?: number;
  /** Records per produce request, at most. @default 5 */
  readonly recordsPerRequestMax?: number;
  /** Attempts per produce request before it counts as unacknowledged. @default 40 */
  readonly attemptsMax?: number;
  /** Producers stop sending new requests after this long. @default 120000 */
  readonly produceTimeMsMax?: number;
  /** Consumers give up catching up this long after producers stopped. @default 60000 */
  readonly catchUpTimeMsMax?: number;
  /** @default 1 */
  readonly seed?: number;
  /**
   * One archiver pass (e.g. `tieredStorageFor(runtime).archiver.run()`), run in a loop during the
   * check: the topic's segments roll every second, so readers cross the DynamoDB/S3 boundary.
   */
  readonly archive?: () => Promise<unknown>;
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
    /** Records the run set out to produce; fewer are sent when `produceTimeMsMax` runs out. */
    readonly requestedRecords: number;
    readonly produceRequests: number;
    readonly acknowledgedRecords: number;
    readonly unacknowledgedRecords: number;
    readonly attempts: number;
    /** Answers that made a client retry, by status (`timeout` when none came). */
    readonly retriedAnswers: Readonly<Record<string, number>>;
    /** Answers a correct service never gives these requests. */
    readonly unexpectedAnswers: Readonly<Record<string, number>>;
    readonly reads: number;
    readonly readerRestarts: number;
    readonly commits: number;
    /** Commits the service refused, by reason (fencing, regression, probes). */
    readonly refusedCommits: Readonly<Record<string, number>>;
    readonly consumerRestarts: number;
    readonly consumersCaughtUp: boolean;
    /** Archiver passes run, passes that threw, and records in S3 segments at the end. */
    readonly archiveRuns: number;
    readonly archiveErrors: number;
    readonly archivedRecords: number;
    readonly durationMs: number;
  };
  readonly faultsInjected: Readonly<Record<string, number>>;
  readonly history: History;
}

const RETRY_DELAY_MS_MAX = 250;
const READ_WAIT_MS = 100;
const REQUEST_TIMEOUT_MS = 15_000;
const VERIFY_PAGE_RECORDS = 1000;
const CONTROL_ATTEMPTS_MAX = 200;
const SESSION_TIMEOUT_MS = 3_000;
const HEARTBEAT_INTERVAL_MS = 600;
const OBSERVE_INTERVAL_MS = 250;
const MEMBER_IDLE_MS = 50;
const PROBE_PROBABILITY = 0.05;
/** Segments of the check's topic roll after a second, so an archiver moves records to S3 during the run. */
const SEGMENT_MS = 1_000;
const ARCHIVE_INTERVAL_MS = 500;
/** An offset no partition in a check reaches. */
const PROBE_OFFSET_ABOVE = 2 ** 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A problem answer's fields the checker reads. */
interface Problem {
  readonly reason?: string;
  readonly error_code?: number;
}

function parseProblem(answer: Answer): Problem {
  try {
    return JSON.parse(answer.text) as Problem;
  } catch {
    return {};
  }
}

/** True for answers worth retrying: throttled, server-side failure, or none at all. */
function retriable(answer: Answer | undefined): boolean {
  return answer === undefined || answer.status === 429 || answer.status >= 500;
}

/**
 * Runs a check against the Shoal API at `url` on a fresh topic and group.
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
    consumers: options.consumers ?? 3,
    consumerRestarts: options.consumerRestarts ?? 4,
    readers: options.readers ?? 1,
    keysPerProducer: options.keysPerProducer ?? 6,
    recordsPerRequestMax: options.recordsPerRequestMax ?? 5,
    attemptsMax: options.attemptsMax ?? 40,
    produceTimeMsMax: options.produceTimeMsMax ?? 120_000,
    catchUpTimeMsMax: options.catchUpTimeMsMax ?? 60_000,
    seed: options.seed ?? 1,
  };
  const client = new ShoalClient(url);
  const runId = randomUUID().slice(0, 8);
  const topic = `check-${runId}`;
  const group = `check-${runId}-g`;
  const started = performance.now();
  const now = () => performance.now() - started;

  const produces: ProduceOperation[] = [];
  const reads: ReadOperation[] = [];
  const commits: CommitOperation[] = [];
  const offsetObservations: OffsetObservation[] = [];
  const tallies = {
    retried: {} as Record<string, number>,
    unexpected: {} as Record<string, number>,
    refused: {} as Record<string, number>,
  };
  const count = (tally: Record<string, number>, key: string) => {
    tally[key] = (tally[key] ?? 0) + 1;
  };
  let attempts = 0;
  let readerRestarts = 0;
  let consumerRestarts = 0;
  let producersDone = false;
  let finished = false;
  let finalHighWatermarks: number[] | undefined;
  let archiveRuns = 0;
  let archiveErrors = 0;
  let archivedRecords = 0;

  /** One call, retried while the answer is retriable; returns the last answer (undefined: none came). */
  const callWithRetries = async (
    method: string,
    path: string,
    body?: string,
    headers?: Record<string, string>,
    attemptsMax = CONTROL_ATTEMPTS_MAX,
  ): Promise<Answer | undefined> => {
    let answer: Answer | undefined;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      attempts++;
      try {
        answer = await client.call(method, path, {
          ...(body === undefined ? {} : { body }),
          ...(headers === undefined ? {} : { headers }),
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      } catch (error) {
        if (!(error instanceof NoAnswerError)) throw error;
        answer = undefined;
      }
      if (!retriable(answer)) return answer;
      count(tallies.retried, answer === undefined ? 'timeout' : String(answer.status));
      const backoff = Math.min(
        RETRY_DELAY_MS_MAX,
        10 * 2 ** attempt,
        (answer?.retryAfterSeconds ?? Infinity) * 1000,
      );
      await sleep(Math.random() * backoff);
    }
    return answer;
  };

  const expectOk = async <T>(method: string, path: string, body?: string): Promise<T> => {
    const answer = await callWithRetries(method, path, body);
    if (answer === undefined || answer.status >= 300) {
      throw new Error(
        `${method} ${path}: ${answer?.status ?? 'no answer'} ${answer?.text.slice(0, 200) ?? ''}`,
      );
    }
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
  };

  // Producers ---------------------------------------------------------------------------------

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
      const answer = await callWithRetries(
        'POST',
        `/v1/topics/${topic}/records`,
        body,
        { 'idempotency-key': idempotencyKey },
        settings.attemptsMax,
      );
      let acknowledged: Position[] | undefined;
      if (answer?.status === 200) {
        acknowledged = (JSON.parse(answer.text) as ProduceAnswer).records.map((record) => ({
          partition: record.partition,
          offset: record.offset,
        }));
      } else if (answer !== undefined && !retriable(answer)) {
        count(tallies.unexpected, `produce ${answer.status} ${answer.text.slice(0, 80)}`);
      }
      produces.push({
        producer: `p${index}`,
        idempotencyKey,
        records,
        ...(acknowledged ? { acknowledged } : {}),
      });
      sent += size;
    }
  };

  // Reading -----------------------------------------------------------------------------------

  /** One fetch, retried until a 200 answer, which is recorded. */
  const readOnce = async (
    reader: string,
    partition: number,
    offset: number,
    maxRecords: number,
    waitMs: number,
    readerGroup?: string,
  ): Promise<FetchAnswer> => {
    for (let attempt = 1; attempt <= CONTROL_ATTEMPTS_MAX; attempt++) {
      const startedAtMs = now();
      let answer: Answer | undefined;
      try {
        answer = await client.fetchRecords(
          topic,
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
        reads.push({
          reader,
          ...(readerGroup === undefined ? {} : { group: readerGroup }),
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
      if (answer !== undefined && !retriable(answer)) {
        throw new Error(
          `fetch ${topic}-${partition} at ${offset}: ${answer.status} ${answer.text.slice(0, 200)}`,
        );
      }
      await sleep(Math.random() * RETRY_DELAY_MS_MAX);
    }
    throw new Error(
      `fetch ${topic}-${partition} at ${offset}: no answer after ${CONTROL_ATTEMPTS_MAX} attempts`,
    );
  };

  /** An independent reader: tails one partition, sometimes restarting from its last checkpoint. */
  const tail = async (readerIndex: number, partition: number) => {
    const random = seededRandom(settings.seed * 7919 + readerIndex * 131 + partition);
    let position = 0;
    let checkpoint = 0;
    for (;;) {
      const hw = finalHighWatermarks?.[partition];
      if ((producersDone && hw !== undefined && position >= hw) || finished) return;
      const body = await readOnce(
        `reader${readerIndex}`,
        partition,
        position,
        1 + Math.floor(random() * 40),
        READ_WAIT_MS,
      );
      position = body.nextOffset;
      if (random() < 0.05) {
        readerRestarts++;
        position = checkpoint;
      } else if (random() < 0.3) {
        checkpoint = position;
      }
    }
  };

  // Consumer group ----------------------------------------------------------------------------

  const committedOffsets = async (): Promise<Map<number, number>> => {
    const described = await expectOk<{
      offsets: { topic: string; partition: number; committedOffset: number | null }[];
    }>('GET', `/v1/groups/${group}`);
    return new Map(
      described.offsets
        .filter((row) => row.topic === topic && row.committedOffset !== null)
        .map((row) => [row.partition, row.committedOffset as number]),
    );
  };

  interface Assignment {
    readonly memberId: string;
    readonly generation: number;
    readonly assignments: readonly { readonly topic: string; readonly partition: number }[];
  }

  class Member {
    memberId = '';
    generation = 0;
    owned: number[] = [];
    readonly positions = new Map<number, number>();
    stopped = false;
    private lastHeartbeatMs = 0;
    private readonly random: () => number;
    private readonly name: string;

    constructor(index: number) {
      this.name = `member${index}`;
      this.random = seededRandom(settings.seed * 104_729 + index);
    }

    async join(): Promise<void> {
      const body = JSON.stringify({ topics: [topic], sessionTimeoutMs: SESSION_TIMEOUT_MS });
      await this.adopt(await expectOk<Assignment>('POST', `/v1/groups/${group}/members`, body));
    }

    /** Takes a generation's assignment; new partitions start at the committed offset. */
    private async adopt(assignment: Assignment): Promise<void> {
      this.memberId = assignment.memberId;
      this.generation = assignment.generation;
      this.owned = assignment.assignments.filter((tp) => tp.topic === topic).map((tp) => tp.partition);
      this.lastHeartbeatMs = now();
      for (const partition of [...this.positions.keys()]) {
        if (!this.owned.includes(partition)) this.positions.delete(partition);
      }
      const fresh = this.owned.filter((partition) => !this.positions.has(partition));
      if (fresh.length === 0) return;
      const committed = await committedOffsets();
      for (const partition of fresh) this.positions.set(partition, committed.get(partition) ?? 0);
    }

    private async heartbeat(): Promise<void> {
      const answer = await callWithRetries(
        'POST',
        `/v1/groups/${group}/members/${this.memberId}/heartbeat`,
        JSON.stringify({ generation: this.generation }),
      );
      if (answer?.status === 200) {
        await this.adopt(JSON.parse(answer.text) as Assignment);
      } else if (answer?.status === 409 && parseProblem(answer).reason === 'unknown-member') {
        this.positions.clear();
        await this.join();
      } else if (answer !== undefined && !retriable(answer)) {
        count(tallies.unexpected, `heartbeat ${answer.status} ${answer.text.slice(0, 80)}`);
      }
    }

    /** Commits `offset`; on refusal it re-syncs with the group. Returns whether it was accepted. */
    private async commit(partition: number, offset: number, probe?: string): Promise<boolean> {
      const startedAtMs = now();
      const answer = await callWithRetries(
        'POST',
        `/v1/groups/${group}/offsets`,
        JSON.stringify({
          memberId: this.memberId,
          generation: this.generation,
          offsets: [{ topic, partition, offset }],
        }),
      );
      if (answer?.status === 200) {
        commits.push({ group, member: this.memberId, partition, offset, startedAtMs, completedAtMs: now() });
        this.lastHeartbeatMs = now();
        return true;
      }
      if (answer === undefined || retriable(answer)) return false;
      const problem = parseProblem(answer);
      const reason = probe ?? problem.reason ?? String(problem.error_code ?? answer.status);
      count(tallies.refused, reason);
      if (probe !== undefined) return false;
      if (answer.status === 409 && problem.reason !== undefined) {
        await this.heartbeat();
      } else if (answer.status === 409 && problem.error_code === 40914) {
        this.positions.set(partition, (await committedOffsets()).get(partition) ?? 0);
      } else {
        count(tallies.unexpected, `commit ${answer.status} ${answer.text.slice(0, 80)}`);
      }
      return false;
    }

    /**
     * Tries commits a correct service refuses, below the member's last commit or far above any high
     * watermark (the log grows meanwhile, so "just above" may become valid); an accepted one lands
     * in the history.
     */
    private async probe(partition: number, lastCommitted: number): Promise<void> {
      if (this.random() < 0.5 && lastCommitted > 0) {
        await this.commit(
          partition,
          Math.max(0, lastCommitted - 1 - Math.floor(this.random() * 5)),
          'probe-below',
        );
      } else {
        await this.commit(partition, PROBE_OFFSET_ABOVE + Math.floor(this.random() * 5), 'probe-above-hw');
      }
    }

    async run(): Promise<void> {
      while (!this.stopped) {
        if (now() - this.lastHeartbeatMs >= HEARTBEAT_INTERVAL_MS) await this.heartbeat();
        let idle = true;
        for (const partition of [...this.owned]) {
          if (this.stopped) return;
          const from = this.positions.get(partition);
          if (from === undefined) continue;
          const page = await readOnce(
            this.name,
            partition,
            from,
            1 + Math.floor(this.random() * 40),
            0,
            group,
          );
          if (page.records.length === 0) continue;
          idle = false;
          this.positions.set(partition, page.nextOffset);
          if (this.stopped) return; // a crash between processing and committing
          const accepted = await this.commit(partition, page.nextOffset);
          if (accepted && this.random() < PROBE_PROBABILITY) {
            await this.probe(partition, page.nextOffset);
          }
          if (!accepted) break;
        }
        if (idle) await sleep(MEMBER_IDLE_MS);
      }
    }

    async leave(): Promise<void> {
      this.stopped = true;
      await callWithRetries('DELETE', `/v1/groups/${group}/members/${this.memberId}`);
    }

    crash(): void {
      this.stopped = true;
    }
  }

  const members: Member[] = [];
  const running: Promise<void>[] = [];
  let memberCount = 0;
  const launch = async () => {
    const member = new Member(memberCount++);
    await member.join();
    members.push(member);
    running.push(member.run());
  };

  const observe = async () => {
    while (!finished) {
      const answer = await callWithRetries('GET', `/v1/groups/${group}`);
      if (answer?.status === 200) {
        const atMs = now();
        const body = JSON.parse(answer.text) as {
          offsets: {
            topic: string;
            partition: number;
            committedOffset: number | null;
            highWatermark: number;
          }[];
        };
        for (const row of body.offsets) {
          if (row.topic !== topic || row.committedOffset === null) continue;
          offsetObservations.push({
            group,
            partition: row.partition,
            committedOffset: row.committedOffset,
            highWatermark: row.highWatermark,
            atMs,
          });
        }
      }
      await sleep(OBSERVE_INTERVAL_MS);
    }
  };

  const archiveLoop = async (archive: () => Promise<unknown>) => {
    while (!finished) {
      try {
        archiveRuns++;
        await archive();
      } catch {
        archiveErrors++;
      }
      await sleep(ARCHIVE_INTERVAL_MS);
    }
  };

  const caughtUp = (hws: readonly number[]) => {
    const latest = new Map<number, number>();
    for (const observation of offsetObservations)
      latest.set(observation.partition, observation.committedOffset);
    return hws.every((hw, partition) => hw === 0 || latest.get(partition) === hw);
  };

  // The run -----------------------------------------------------------------------------------

  await client.createTopic(topic, settings.partitions, { segmentMs: SEGMENT_MS });
  options.faults?.setEnabled(true);
  const quotas = Array.from(
    { length: settings.producers },
    (_, index) =>
      Math.floor(settings.records / settings.producers) +
      (index < settings.records % settings.producers ? 1 : 0),
  );
  const progress = setInterval(() => {
    const acked = produces.reduce((sum, op) => sum + (op.acknowledged ? op.records.length : 0), 0);
    options.onProgress?.(
      `${acked}/${settings.records} acknowledged, ${reads.length} reads, ${commits.length} commits, ${consumerRestarts} consumer restarts`,
    );
  }, 1000);
  let consumersCaughtUp = false;
  const background: Promise<void>[] = [];
  try {
    for (let i = 0; i < settings.consumers; i++) await launch();
    background.push(observe());
    if (options.archive !== undefined) background.push(archiveLoop(options.archive));
    const readers = Array.from({ length: settings.readers }, (_, reader) =>
      Array.from({ length: settings.partitions }, (_, partition) => tail(reader, partition)),
    ).flat();
    const producing = Promise.all(quotas.map((quota, index) => producer(index, quota)));
    const restartRandom = seededRandom(settings.seed * 31 + 17);
    let producingDone = false;
    void producing.finally(() => {
      producingDone = true;
    });
    for (let restart = 0; restart < settings.consumerRestarts && !producingDone; restart++) {
      await sleep(300 + restartRandom() * 600);
      const victim = members.splice(Math.floor(restartRandom() * members.length), 1)[0];
      if (victim === undefined) continue;
      consumerRestarts++;
      if (restartRandom() < 0.5) victim.crash();
      else await victim.leave();
      await launch();
    }
    await producing;
    const description = await expectOk<{
      partitions: { partition: number; highWatermark: number; archivedOffset?: number }[];
    }>('GET', `/v1/topics/${topic}`);
    finalHighWatermarks = description.partitions
      .slice()
      .sort((a, b) => a.partition - b.partition)
      .map((partition) => partition.highWatermark);
    producersDone = true;
    const deadline = now() + settings.catchUpTimeMsMax;
    while (!caughtUp(finalHighWatermarks) && now() < deadline) await sleep(100);
    consumersCaughtUp = caughtUp(finalHighWatermarks);
    await Promise.all(readers);
    options.faults?.setEnabled(false);
    for (const member of members) await member.leave();
    finished = true;
    await Promise.all([...running, ...background]);
    const described = await expectOk<{ partitions: { archivedOffset?: number }[] }>(
      'GET',
      `/v1/topics/${topic}`,
    );
    archivedRecords = described.partitions.reduce(
      (sum, partition) => sum + (partition.archivedOffset ?? 0),
      0,
    );
    // The verifier: every partition from offset 0 to its end, faults off (from S3 below archivedOffset).
    for (let partition = 0; partition < settings.partitions; partition++) {
      let offset = 0;
      while (offset < (finalHighWatermarks[partition] ?? 0)) {
        offset = (await readOnce('verifier', partition, offset, VERIFY_PAGE_RECORDS, 0)).nextOffset;
      }
    }
  } finally {
    finished = true;
    for (const member of members) member.crash();
    clearInterval(progress);
    options.faults?.setEnabled(false);
  }

  const history: History = {
    produces,
    reads,
    commits,
    offsetObservations,
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
      requestedRecords: settings.records,
      produceRequests: produces.length,
      acknowledgedRecords,
      unacknowledgedRecords: sentRecords - acknowledgedRecords,
      attempts,
      retriedAnswers: tallies.retried,
      unexpectedAnswers: tallies.unexpected,
      reads: reads.length,
      readerRestarts,
      commits: commits.length,
      refusedCommits: tallies.refused,
      consumerRestarts,
      consumersCaughtUp,
      archiveRuns,
      archiveErrors,
      archivedRecords,
      durationMs: now(),
    },
    faultsInjected: options.faults?.counts() ?? {},
    history,
  };
}

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
import { seededRandom } from '../../test/support/events.js';
import { CheckRun, type CheckSettings } from './check-run.js';
import { analyzeHistory, type CheckerCounts, type History, isClean } from './history.js';
import { MemberPool } from './member.js';
import { archiveLoop, caughtUp, observe, produce, tail } from './workers.js';

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
  /**
   * The share of produce requests that carry `largeRequestRecords` typical (~1 KB) events instead:
   * large enough that their batches go to a payload object in S3. @default 0.25
   */
  readonly largeRequestShare?: number;
  /** @default 25 */
  readonly largeRequestRecords?: number;
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
  /**
   * The topic's `localRetentionMs`: short (seconds), the hot copies expire during the run, so reads
   * meet expired batches, batches TTL deleted, and the archiver's rolls before expiry. Topic default
   * when undefined.
   */
  readonly localRetentionMs?: number;
  /** Switches injected faults on and off (the final verification runs with them off). */
  readonly faults?: {
    setEnabled(enabled: boolean): void;
    counts(): Record<string, number>;
    /** Injections by kind, then by the operation they hit (`faults.ts`). */
    hits?(): Record<string, Record<string, number>>;
  };
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
  /** Injections by kind, then by the operation whose path they hit (empty without such faults). */
  readonly faultHits: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly history: History;
}

const VERIFY_PAGE_RECORDS = 1000;
/** Segments of the check's topic roll after a second, so an archiver moves records to S3 during the run. */
const SEGMENT_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function resolveSettings(options: CheckOptions): CheckSettings {
  return {
    records: options.records ?? 400,
    producers: options.producers ?? 4,
    partitions: options.partitions ?? 3,
    consumers: options.consumers ?? 3,
    consumerRestarts: options.consumerRestarts ?? 4,
    readers: options.readers ?? 1,
    keysPerProducer: options.keysPerProducer ?? 6,
    recordsPerRequestMax: options.recordsPerRequestMax ?? 5,
    largeRequestShare: options.largeRequestShare ?? 0.25,
    largeRequestRecords: options.largeRequestRecords ?? 25,
    attemptsMax: options.attemptsMax ?? 40,
    produceTimeMsMax: options.produceTimeMsMax ?? 120_000,
    catchUpTimeMsMax: options.catchUpTimeMsMax ?? 60_000,
    seed: options.seed ?? 1,
  };
}

/**
 * Runs a check against the Shoal API at `url` on a fresh topic and group.
 *
 * @example
 * const report = await runConsistencyCheck(api.url, { records: 300, faults });
 * if (!report.clean) process.exitCode = 1;
 */
export async function runConsistencyCheck(url: string, options: CheckOptions = {}): Promise<CheckReport> {
  const run = new CheckRun(url, resolveSettings(options));
  await run.client.createTopic(run.topic, run.settings.partitions, {
    segmentMs: SEGMENT_MS,
    ...(options.localRetentionMs === undefined ? {} : { localRetentionMs: options.localRetentionMs }),
  });
  options.faults?.setEnabled(true);
  const progress = setInterval(() => {
    options.onProgress?.(
      `${run.acknowledgedRecords()}/${run.settings.records} acknowledged, ${run.reads.length} reads, ${run.commits.length} commits, ${run.consumerRestarts} consumer restarts`,
    );
  }, 1000);
  const pool = new MemberPool(run);
  let consumersCaughtUp = false;
  try {
    consumersCaughtUp = await exercise(run, pool, options);
    run.archivedRecords = await archivedRecords(run);
    await verify(run);
  } finally {
    run.finished = true;
    pool.crashAll();
    clearInterval(progress);
    options.faults?.setEnabled(false);
  }
  return report(run, consumersCaughtUp, options);
}

/** Each producer's share of the records, the first ones taking one more when they do not divide. */
function produceQuotas({ records, producers }: CheckSettings): number[] {
  return Array.from(
    { length: producers },
    (_, index) => Math.floor(records / producers) + (index < records % producers ? 1 : 0),
  );
}

/**
 * The run with faults on: members, observer, archiver, readers and producers start; members are
 * restarted while producers run; then the group gets time to catch up and everything winds down
 * (faults off, members leave). Returns whether the group caught up.
 */
async function exercise(run: CheckRun, pool: MemberPool, options: CheckOptions): Promise<boolean> {
  const { settings } = run;
  for (let i = 0; i < settings.consumers; i++) await pool.launch();
  const background = [observe(run)];
  if (options.archive !== undefined) background.push(archiveLoop(run, options.archive));
  const readers = Array.from({ length: settings.readers }, (_, reader) =>
    Array.from({ length: settings.partitions }, (_, partition) => tail(run, reader, partition)),
  ).flat();
  const producing = Promise.all(produceQuotas(settings).map((quota, index) => produce(run, index, quota)));
  const restartRandom = seededRandom(settings.seed * 31 + 17);
  let producingDone = false;
  void producing.finally(() => {
    producingDone = true;
  });
  await pool.restartWhile(restartRandom, () => !producingDone);
  await producing;
  const finalHighWatermarks = await highWatermarks(run);
  run.finalHighWatermarks = finalHighWatermarks;
  run.producersDone = true;
  const deadline = run.now() + settings.catchUpTimeMsMax;
  while (!caughtUp(run, finalHighWatermarks) && run.now() < deadline) await sleep(100);
  const consumersCaughtUp = caughtUp(run, finalHighWatermarks);
  await Promise.all(readers);
  options.faults?.setEnabled(false);
  await pool.leaveAll();
  run.finished = true;
  await Promise.all([...pool.loops(), ...background]);
  return consumersCaughtUp;
}

/** Each partition's high watermark, in partition order. */
async function highWatermarks(run: CheckRun): Promise<number[]> {
  const description = await run.expectOk<{
    partitions: { partition: number; highWatermark: number; archivedOffset?: number }[];
  }>('GET', `/v1/topics/${run.topic}`);
  return description.partitions
    .slice()
    .sort((a, b) => a.partition - b.partition)
    .map((partition) => partition.highWatermark);
}

/** Records in S3 segments: the sum of the partitions' archived offsets. */
async function archivedRecords(run: CheckRun): Promise<number> {
  const described = await run.expectOk<{ partitions: { archivedOffset?: number }[] }>(
    'GET',
    `/v1/topics/${run.topic}`,
  );
  return described.partitions.reduce((sum, partition) => sum + (partition.archivedOffset ?? 0), 0);
}

/** The verifier: every partition from offset 0 to its end, faults off (from S3 below archivedOffset). */
async function verify(run: CheckRun): Promise<void> {
  for (let partition = 0; partition < run.settings.partitions; partition++) {
    let offset = 0;
    while (offset < (run.finalHighWatermarks?.[partition] ?? 0)) {
      offset = (await run.readOnce('verifier', partition, offset, VERIFY_PAGE_RECORDS, 0)).nextOffset;
    }
  }
}

/** The history's verdict and the run's statistics. */
function report(run: CheckRun, consumersCaughtUp: boolean, options: CheckOptions): CheckReport {
  const history: History = {
    produces: run.produces,
    reads: run.reads,
    commits: run.commits,
    offsetObservations: run.offsetObservations,
    finalHighWatermarks: run.finalHighWatermarks ?? [],
  };
  const counts = analyzeHistory(history);
  const acknowledgedRecords = run.acknowledgedRecords();
  const sentRecords = run.produces.reduce((sum, op) => sum + op.records.length, 0);
  return {
    counts,
    clean: isClean(counts),
    stats: {
      requestedRecords: run.settings.records,
      produceRequests: run.produces.length,
      acknowledgedRecords,
      unacknowledgedRecords: sentRecords - acknowledgedRecords,
      attempts: run.attempts,
      retriedAnswers: run.tallies.retried,
      unexpectedAnswers: run.tallies.unexpected,
      reads: run.reads.length,
      readerRestarts: run.readerRestarts,
      commits: run.commits.length,
      refusedCommits: run.tallies.refused,
      consumerRestarts: run.consumerRestarts,
      consumersCaughtUp,
      archiveRuns: run.archiveRuns,
      archiveErrors: run.archiveErrors,
      archivedRecords: run.archivedRecords,
      durationMs: run.now(),
    },
    faultsInjected: options.faults?.counts() ?? {},
    faultHits: options.faults?.hits?.() ?? {},
    history,
  };
}

/**
 * The consistency check's workers outside the consumer group: producers, independent readers, the
 * observer of committed offsets, and the archiver loop. Each records what it does and sees in the
 * shared {@link CheckRun}.
 */
import { type EventSizeClass, makeEvent, seededRandom } from '../../test/support/events.js';
import type { ProduceAnswer } from '../shoal-client.js';
import { type CheckRun, count, retriable, sleep } from './check-run.js';
import type { Position, SentRecord } from './history.js';

const READ_WAIT_MS = 100;
const OBSERVE_INTERVAL_MS = 250;
const ARCHIVE_INTERVAL_MS = 500;

/** The records of one produce request and its body. */
function produceRequest(
  run: CheckRun,
  index: number,
  random: () => number,
  keys: readonly string[],
  sent: number,
  size: number,
  sizeClass: EventSizeClass,
): { records: SentRecord[]; body: string } {
  const records: SentRecord[] = Array.from({ length: size }, (_, i) => ({
    id: `${run.runId}-p${index}-r${sent + i}`,
    key: keys[Math.floor(random() * keys.length)] as string,
  }));
  const body = JSON.stringify({
    records: records.map((record) => ({
      key: { type: 'STRING', data: record.key },
      value: { type: 'JSON', data: { id: record.id, event: makeEvent(random, sizeClass) } },
    })),
  });
  return { records, body };
}

/**
 * Producer `index`: sends `quota` unique keyed records, one request at a time, each with its own
 * Idempotency-Key and retried on 429, 5xx and timeouts; stops early when `produceTimeMsMax` runs out.
 */
export async function produce(run: CheckRun, index: number, quota: number): Promise<void> {
  const { settings } = run;
  const random = seededRandom(settings.seed * 1000 + index);
  const keys = Array.from({ length: settings.keysPerProducer }, (_, k) => `${run.runId}-p${index}-k${k}`);
  let sent = 0;
  let requestNumber = 0;
  while (sent < quota && run.now() < settings.produceTimeMsMax) {
    // Some requests are large, so their batches take the payload object path (S3, then DynamoDB).
    const large = random() < settings.largeRequestShare;
    const sizeMax = large ? settings.largeRequestRecords : settings.recordsPerRequestMax;
    const size = Math.min(quota - sent, large ? sizeMax : 1 + Math.floor(random() * sizeMax));
    const { records, body } = produceRequest(
      run,
      index,
      random,
      keys,
      sent,
      size,
      large ? 'typical' : 'small',
    );
    const idempotencyKey = `${run.runId}-p${index}-q${requestNumber++}`;
    const answer = await run.callWithRetries(
      'POST',
      `/v1/topics/${run.topic}/records`,
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
      count(run.tallies.unexpected, `produce ${answer.status} ${answer.text.slice(0, 80)}`);
    }
    run.produces.push({
      producer: `p${index}`,
      idempotencyKey,
      records,
      ...(acknowledged ? { acknowledged } : {}),
    });
    sent += size;
  }
}

/** An independent reader: tails one partition, sometimes restarting from its last checkpoint. */
export async function tail(run: CheckRun, readerIndex: number, partition: number): Promise<void> {
  const random = seededRandom(run.settings.seed * 7919 + readerIndex * 131 + partition);
  let position = 0;
  let checkpoint = 0;
  for (;;) {
    const hw = run.finalHighWatermarks?.[partition];
    if ((run.producersDone && hw !== undefined && position >= hw) || run.finished) return;
    const body = await run.readOnce(
      `reader${readerIndex}`,
      partition,
      position,
      1 + Math.floor(random() * 40),
      READ_WAIT_MS,
    );
    position = body.nextOffset;
    if (random() < 0.05) {
      run.readerRestarts++;
      position = checkpoint;
    } else if (random() < 0.3) {
      checkpoint = position;
    }
  }
}

/** The observer: polls the group's description for committed offsets and high watermarks. */
export async function observe(run: CheckRun): Promise<void> {
  while (!run.finished) {
    const answer = await run.callWithRetries('GET', `/v1/groups/${run.group}`);
    if (answer?.status === 200) {
      const atMs = run.now();
      const body = JSON.parse(answer.text) as {
        offsets: {
          topic: string;
          partition: number;
          committedOffset: number | null;
          highWatermark: number;
        }[];
      };
      for (const row of body.offsets) {
        if (row.topic !== run.topic || row.committedOffset === null) continue;
        run.offsetObservations.push({
          group: run.group,
          partition: row.partition,
          committedOffset: row.committedOffset,
          highWatermark: row.highWatermark,
          atMs,
        });
      }
    }
    await sleep(OBSERVE_INTERVAL_MS);
  }
}

/** Runs `archive` in a loop until the run finishes, counting passes and failures. */
export async function archiveLoop(run: CheckRun, archive: () => Promise<unknown>): Promise<void> {
  while (!run.finished) {
    try {
      run.archiveRuns++;
      await archive();
    } catch {
      run.archiveErrors++;
    }
    await sleep(ARCHIVE_INTERVAL_MS);
  }
}

/** True when the observer last saw every non-empty partition committed up to its high watermark. */
export function caughtUp(run: CheckRun, hws: readonly number[]): boolean {
  const latest = new Map<number, number>();
  for (const observation of run.offsetObservations) {
    latest.set(observation.partition, observation.committedOffset);
  }
  return hws.every((hw, partition) => hw === 0 || latest.get(partition) === hw);
}

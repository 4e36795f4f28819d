/**
 * The producer: Kafka's accumulator and sender, over HTTP.
 *
 * - Routing: an explicit partition wins; a keyed record goes to `murmur2(key bytes) % partitions`,
 *   the server's own function (`shared/domain/partitioner.ts`) on the bytes the server stores; keyless
 *   records stick to one partition for about `STICKY_BATCH_BYTES`, then move on (KIP-480).
 * - Batching: records wait in one open batch per partition until it reaches `batchBytesMax` or has
 *   waited `lingerMs`. The sender then packs ready batches of several partitions into one request
 *   (as Kafka's sender packs a broker's batches into one ProduceRequest), bounded in records, bytes
 *   and partitions. One produce request is atomic on the server.
 * - Order: at most one request per partition is in flight, so retries never reorder a partition.
 * - Idempotency: every request carries an `Idempotency-Key` (`<producerId>-<sequence>`), the same
 *   on each retry of that request, so a retry after a lost answer appends nothing. A `send` with its
 *   own `idempotencyKey` travels alone, in the order given and without client-chosen partitions,
 *   so the same call made again (by a restarted process) is recognised by the server.
 *
 * ```
 * send ─► route ─► open batch (p0) ──┐ full or lingered
 *               └► open batch (p3) ──┼─► request {p0, p3} ─► POST /records (Idempotency-Key: id-7)
 * send(key) ─► keyed request ────────┘   (waits for p0 and p3 to be free: order per partition)
 * ```
 */
import { randomUUID } from 'node:crypto';
import { LIMITS } from '../shared/domain/limits.js';
import { partitionForKey, STICKY_BATCH_BYTES } from '../shared/domain/partitioner.js';
import type { ShoalApi, TypedDataValue, WireProduceRecord } from './api.js';
import { isApiError, ShoalClientStateError } from './errors.js';
import type { TopicMetadata } from './metadata.js';
import { dataBytes, type ProducerRecord, toWireData, toWireRecord } from './records.js';
import { checkWhole } from './transport.js';
import { checkSend } from './validate.js';

/** Options of a producer. Every one is bounded. */
export interface ProducerOptions {
  /** How long a batch waits for more records before it is sent (0 to 60000). @default 5 */
  readonly lingerMs?: number;
  /** A partition's batch is sent once its records take this many bytes of JSON. @default 262144 */
  readonly batchBytesMax?: number;
  /** Bytes of records in one request (the API takes at most `LIMITS.requestBodyBytesMax`, 4,500,000). @default 1048576 */
  readonly requestBytesMax?: number;
  /** Records in one request (at most 10000). @default 1000 */
  readonly requestRecordsMax?: number;
  /** Partitions one request touches (at most 49, one DynamoDB transaction's share). @default 16 */
  readonly requestPartitionsMax?: number;
  /** Requests in flight at once (each on distinct partitions). @default 5 */
  readonly inFlightRequestsMax?: number;
  /** Bytes waiting to be sent before `send` waits for room (Kafka's `buffer.memory`). @default 33554432 */
  readonly bufferBytesMax?: number;
  /** Longest wait for room in the buffer before `send` fails (Kafka's `max.block.ms`). @default 60000 */
  readonly bufferWaitMsMax?: number;
  /** How long a topic's partition count is trusted. @default 300000 */
  readonly metadataMaxAgeMs?: number;
  /** Start of the automatic idempotency keys; unique per producer. @default a random UUID */
  readonly producerId?: string;
}

/** What `send` takes. */
export interface ProducerSend {
  readonly topic: string;
  readonly records: readonly ProducerRecord[];
  /**
   * Sends these records as one request (or `<key>-<n>` chunks when over the request limits) under
   * this key instead of batching them with others. Repeating the same call within the dedup window
   * appends nothing and returns the first offsets, even from another process.
   */
  readonly idempotencyKey?: string;
}

/** Where a record landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** ISO-8601. */
  readonly timestamp: string;
}

interface PendingRecord {
  /** The record's JSON in the request body. */
  readonly json: string;
  readonly bytes: number;
  readonly settle: (result: RecordMetadata | Error) => void;
}

/** Records waiting together: a partition's batch, or a send with its own key. */
interface QueueEntry {
  readonly kind: 'batch' | 'keyed';
  readonly topic: string;
  /** The partitions whose queues this entry sits in (one for a batch). */
  readonly partitions: readonly number[];
  readonly records: PendingRecord[];
  bytes: number;
  readonly createdAt: number;
  sealed: boolean;
  /** Set for keyed entries. */
  readonly idempotencyKey?: string;
}

interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly entries: QueueEntry[];
  inFlight: boolean;
}

const DEFAULTS = {
  lingerMs: 5,
  batchBytesMax: 256 * 1024,
  requestBytesMax: 1024 * 1024,
  requestRecordsMax: 1000,
  requestPartitionsMax: 16,
  inFlightRequestsMax: 5,
  bufferBytesMax: 32 * 1024 * 1024,
  bufferWaitMsMax: 60_000,
  metadataMaxAgeMs: 300_000,
} as const;

/** JSON framing around the records of a request: `{"records":[...]}`. */
const BODY_FRAMING_BYTES = 14;

/** Sends records in batches; see the module comment. Create with `shoal.producer()`. */
export class Producer {
  private readonly settings: Required<Omit<ProducerOptions, 'producerId'>>;
  private readonly producerId: string;
  private sequence = 0;
  private readonly queues = new Map<string, PartitionQueue>();
  /** Keyed entries of keyless records only: they wait in no partition queue. */
  private readonly freeEntries: QueueEntry[] = [];
  private readonly sticky = new Map<string, { partition: number; bytes: number }>();
  private inFlight = 0;
  private bufferedBytes = 0;
  private flushing = 0;
  private closed = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerDeadline = Number.POSITIVE_INFINITY;
  /** Sends are routed and queued one after another, in call order. */
  private intake: Promise<unknown> = Promise.resolve();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private rotation = 0;

  constructor(
    private readonly api: ShoalApi,
    private readonly metadata: TopicMetadata,
    options: ProducerOptions = {},
  ) {
    this.settings = { ...DEFAULTS, ...withoutUndefined(options) } as Required<
      Omit<ProducerOptions, 'producerId'>
    >;
    const s = this.settings;
    checkWhole('lingerMs', s.lingerMs, 0, 60_000);
    checkWhole('requestBytesMax', s.requestBytesMax, 1024, LIMITS.requestBodyBytesMax);
    checkWhole('batchBytesMax', s.batchBytesMax, 1, s.requestBytesMax);
    checkWhole('requestRecordsMax', s.requestRecordsMax, 1, LIMITS.recordsPerRequestMax);
    checkWhole('requestPartitionsMax', s.requestPartitionsMax, 1, LIMITS.partitionsPerRequestMax);
    checkWhole('inFlightRequestsMax', s.inFlightRequestsMax, 1, 64);
    checkWhole('bufferBytesMax', s.bufferBytesMax, s.requestBytesMax, 1024 * 1024 * 1024);
    checkWhole('bufferWaitMsMax', s.bufferWaitMsMax, 0, 15 * 60 * 1000);
    checkWhole('metadataMaxAgeMs', s.metadataMaxAgeMs, 0, 24 * 60 * 60 * 1000);
    this.producerId = options.producerId ?? randomUUID();
    if (!/^[\x21-\x7e]{1,200}$/.test(this.producerId)) {
      throw new ShoalClientStateError(
        'producerId must be 1 to 200 printable ASCII characters without spaces',
      );
    }
  }

  /**
   * Queues records and resolves, in the order given, with where each landed once every one of them
   * is acknowledged. Rejects if any of them could not be appended (after the bounded retries).
   *
   * @example
   * const [first] = await producer.send({ topic: 'orders', records: [{ key: 'order-42', value: json(order) }] });
   */
  send(input: ProducerSend): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ShoalClientStateError('The producer is closed'));
    try {
      checkSend(input);
    } catch (error) {
      return Promise.reject(error);
    }
    if (input.records.length === 0) return Promise.resolve([]);
    const results: (RecordMetadata | undefined)[] = new Array(input.records.length);
    let remaining = input.records.length;
    let failure: Error | undefined;
    const done = new Promise<RecordMetadata[]>((resolve, reject) => {
      const settle = (index: number) => (result: RecordMetadata | Error) => {
        if (result instanceof Error) failure ??= result;
        else results[index] = result;
        remaining--;
        if (remaining === 0) {
          if (failure) reject(failure);
          else resolve(results as RecordMetadata[]);
        }
      };
      const queued = this.intake.then(() => this.enqueue(input, settle));
      this.intake = queued.catch(() => undefined);
      queued.catch(reject);
    });
    return done;
  }

  /** Sends everything queued now, without waiting for linger, and waits until it is acknowledged. */
  async flush(): Promise<void> {
    await this.intake;
    this.flushing++;
    try {
      this.pump();
      if (!this.idle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    clearTimeout(this.lingerTimer);
  }

  private async enqueue(
    input: ProducerSend,
    settle: (index: number) => (result: RecordMetadata | Error) => void,
  ) {
    const { topic } = input;
    const keyed = input.idempotencyKey !== undefined;
    const needsCount = input.records.some((record) => record.partition === undefined);
    const partitionCount = needsCount ? await this.metadata.partitionCount(topic) : undefined;

    // Route and serialize every record first, so a bad record fails the send before anything queues.
    const wires = input.records.map((record, index) => {
      const wire = toWireRecord(record, `records[${index}]`);
      if (wire.key === undefined && wire.value === undefined) {
        throw new ShoalClientStateError(`records[${index}]: give a key or a value`);
      }
      return wire;
    });
    const sent = await this.uploadLargeValues(topic, wires);
    const routed = input.records.map((record, index) => {
      const wire = sent[index] as WireProduceRecord;
      let partition = record.partition;
      if (partition !== undefined)
        checkWhole(`records[${index}].partition`, partition, 0, LIMITS.partitionsMax - 1);
      const keyBytes = dataBytes(toWireData(record.key ?? null));
      if (partition === undefined && keyBytes !== null) {
        partition = partitionForKey(keyBytes, partitionCount as number);
      }
      // A keyed send lets the server place keyless records, so the same call hashes the same.
      const onWire = keyed ? record.partition : partition;
      const json = JSON.stringify(onWire === undefined ? wire : { ...wire, partition: onWire });
      const bytes = Buffer.byteLength(json);
      if (bytes + BODY_FRAMING_BYTES > this.settings.requestBytesMax) {
        throw new ShoalClientStateError(
          `records[${index}] takes ${bytes} bytes as JSON; requestBytesMax is ${this.settings.requestBytesMax}`,
        );
      }
      return { json, bytes, partition, settle: settle(index) };
    });

    await this.waitForRoom(routed.reduce((sum, record) => sum + record.bytes, 0));
    if (keyed) {
      this.enqueueKeyed(topic, input.idempotencyKey as string, routed);
    } else {
      for (const record of routed) {
        const partition =
          record.partition ?? this.stickyPartition(topic, partitionCount as number, record.bytes);
        this.append(topic, partition, record);
      }
    }
    this.pump();
  }

  /**
   * Values too large for one request go to S3 first, through an upload, and the record names the
   * upload instead (one at a time: each may be 10 MiB). The same upload id goes into every retry, so
   * a keyed send stays idempotent.
   */
  private async uploadLargeValues(
    topic: string,
    wires: readonly WireProduceRecord[],
  ): Promise<WireProduceRecord[]> {
    const sent: WireProduceRecord[] = [];
    for (const wire of wires) {
      const value = wire.value;
      const fits =
        Buffer.byteLength(JSON.stringify(wire)) + BODY_FRAMING_BYTES <= this.settings.requestBytesMax;
      if (fits || value === null || value === undefined || 'uploadId' in value) {
        sent.push(wire);
        continue;
      }
      const bytes = dataBytes(value as TypedDataValue) as Buffer;
      const uploadId = await this.api.uploadValue(topic, bytes);
      sent.push({ ...wire, value: { type: value.type, uploadId } });
    }
    return sent;
  }

  private stickyPartition(topic: string, partitionCount: number, bytes: number): number {
    let state = this.sticky.get(topic);
    if (!state || state.partition >= partitionCount) {
      state = { partition: Math.floor(Math.random() * partitionCount), bytes: 0 };
      this.sticky.set(topic, state);
    }
    const partition = state.partition;
    state.bytes += bytes;
    if (state.bytes >= STICKY_BATCH_BYTES) {
      state.partition = (state.partition + 1) % partitionCount;
      state.bytes = 0;
    }
    return partition;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const id = `${topic}\u0000${partition}`;
    let queue = this.queues.get(id);
    if (!queue) {
      queue = { topic, partition, entries: [], inFlight: false };
      this.queues.set(id, queue);
    }
    return queue;
  }

  private append(topic: string, partition: number, record: PendingRecord): void {
    const queue = this.queue(topic, partition);
    let batch = queue.entries.at(-1);
    if (
      !batch ||
      batch.sealed ||
      batch.records.length >= this.settings.requestRecordsMax ||
      batch.bytes + record.bytes > this.settings.batchBytesMax
    ) {
      if (batch && batch.kind === 'batch') batch.sealed = true;
      batch = {
        kind: 'batch',
        topic,
        partitions: [partition],
        records: [],
        bytes: 0,
        createdAt: Date.now(),
        sealed: false,
      };
      queue.entries.push(batch);
    }
    batch.records.push(record);
    batch.bytes += record.bytes;
    this.bufferedBytes += record.bytes;
    if (
      batch.bytes >= this.settings.batchBytesMax ||
      batch.records.length >= this.settings.requestRecordsMax
    ) {
      batch.sealed = true;
    }
  }

  /** Splits a keyed send into requests within the limits, deterministically, and queues them. */
  private enqueueKeyed(
    topic: string,
    idempotencyKey: string,
    routed: readonly (PendingRecord & { partition: number | undefined })[],
  ): void {
    const chunks: (PendingRecord & { partition: number | undefined })[][] = [];
    let current: (PendingRecord & { partition: number | undefined })[] = [];
    let bytes = BODY_FRAMING_BYTES;
    for (const record of routed) {
      if (
        current.length > 0 &&
        (current.length >= this.settings.requestRecordsMax ||
          bytes + record.bytes + 1 > this.settings.requestBytesMax)
      ) {
        chunks.push(current);
        current = [];
        bytes = BODY_FRAMING_BYTES;
      }
      current.push(record);
      bytes += record.bytes + 1;
    }
    chunks.push(current);
    chunks.forEach((chunk, index) => {
      const partitions = [
        ...new Set(chunk.flatMap((record) => (record.partition === undefined ? [] : [record.partition]))),
      ];
      const entry: QueueEntry = {
        kind: 'keyed',
        topic,
        partitions,
        records: chunk,
        bytes: chunk.reduce((sum, record) => sum + record.bytes, 0),
        createdAt: Date.now(),
        sealed: true,
        idempotencyKey: chunks.length === 1 ? idempotencyKey : `${idempotencyKey}-${index}`,
      };
      // Seal the open batches of those partitions: the keyed request goes after them.
      for (const partition of partitions) {
        const queue = this.queue(topic, partition);
        const last = queue.entries.at(-1);
        if (last) last.sealed = true;
        queue.entries.push(entry);
      }
      if (partitions.length === 0) this.freeEntries.push(entry);
      this.bufferedBytes += entry.bytes;
    });
  }

  private async waitForRoom(bytes: number): Promise<void> {
    const deadline = Date.now() + this.settings.bufferWaitMsMax;
    while (this.bufferedBytes > 0 && this.bufferedBytes + bytes > this.settings.bufferBytesMax) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ShoalClientStateError(
          `The producer's buffer (${this.settings.bufferBytesMax} bytes) stayed full for ${this.settings.bufferWaitMsMax} ms`,
        );
      }
      this.flushing++;
      try {
        this.pump();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          this.roomWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      } finally {
        this.flushing--;
      }
    }
  }

  /** Sends every request that is ready, up to the in-flight bound, and arms the linger timer. */
  private pump(): void {
    while (this.inFlight < this.settings.inFlightRequestsMax) {
      const request = this.nextRequest();
      if (!request) break;
      this.dispatch(request.topic, request.entries, request.idempotencyKey);
    }
    this.armLinger();
  }

  private isReady(entry: QueueEntry, now: number): boolean {
    return (
      entry.sealed ||
      this.flushing > 0 ||
      this.closed ||
      entry.bytes >= this.settings.batchBytesMax ||
      now - entry.createdAt >= this.settings.lingerMs
    );
  }

  /** A keyed entry is ready when it heads every queue it sits in and none of them is in flight. */
  private keyedReady(entry: QueueEntry): boolean {
    return entry.partitions.every((partition) => {
      const queue = this.queue(entry.topic, partition);
      return !queue.inFlight && queue.entries[0] === entry;
    });
  }

  private nextRequest(): { topic: string; entries: QueueEntry[]; idempotencyKey: string } | undefined {
    const free = this.freeEntries.shift();
    if (free) return { topic: free.topic, entries: [free], idempotencyKey: free.idempotencyKey as string };
    const now = Date.now();
    const queues = [...this.queues.values()];
    if (queues.length === 0) return undefined;
    this.rotation = (this.rotation + 1) % queues.length;
    let topic: string | undefined;
    const entries: QueueEntry[] = [];
    let records = 0;
    let bytes = BODY_FRAMING_BYTES;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[(this.rotation + i) % queues.length] as PartitionQueue;
      const head = queue.entries[0];
      if (queue.inFlight || !head) continue;
      if (head.kind === 'keyed') {
        if (entries.length === 0 && this.keyedReady(head)) {
          return { topic: head.topic, entries: [head], idempotencyKey: head.idempotencyKey as string };
        }
        continue;
      }
      if (!this.isReady(head, now)) continue;
      if (topic !== undefined && head.topic !== topic) continue;
      if (!this.fits(entries, records, bytes, head)) continue;
      topic = head.topic;
      head.sealed = true;
      entries.push(head);
      records += head.records.length;
      bytes += head.bytes + head.records.length;
    }
    if (topic === undefined) return undefined;
    // As Kafka's sender drains every partition of a node once one batch is ready, the request also
    // takes the other partitions' open batches of the topic that fit, lingered or not: one request
    // instead of one per batch whose linger ends a moment later.
    for (const queue of queues) {
      const head = queue.entries[0];
      if (queue.inFlight || !head || head.kind === 'keyed' || head.topic !== topic) continue;
      if (entries.includes(head) || !this.fits(entries, records, bytes, head)) continue;
      head.sealed = true;
      entries.push(head);
      records += head.records.length;
      bytes += head.bytes + head.records.length;
    }
    return { topic, entries, idempotencyKey: `${this.producerId}-${this.sequence++}` };
  }

  /** Whether `head` may join a request that holds `entries` with `records` records and `bytes` bytes. */
  private fits(entries: readonly QueueEntry[], records: number, bytes: number, head: QueueEntry): boolean {
    return (
      entries.length === 0 ||
      (entries.length < this.settings.requestPartitionsMax &&
        records + head.records.length <= this.settings.requestRecordsMax &&
        bytes + head.bytes + head.records.length <= this.settings.requestBytesMax)
    );
  }

  private dispatch(topic: string, entries: QueueEntry[], idempotencyKey: string): void {
    const queues = [...new Set(entries.flatMap((entry) => entry.partitions))].map((partition) =>
      this.queue(topic, partition),
    );
    for (const queue of queues) queue.inFlight = true;
    this.inFlight++;
    const records = entries.flatMap((entry) => entry.records);
    const body = `{"records":[${records.map((record) => record.json).join(',')}]}`;
    this.api
      .produce(topic, body, idempotencyKey)
      .then(
        (answer) => {
          records.forEach((record, index) => {
            const position = answer.records[index];
            record.settle(
              position
                ? {
                    topic,
                    partition: position.partition,
                    offset: position.offset,
                    timestamp: position.timestamp,
                  }
                : new ShoalClientStateError(
                    `The produce answer lists ${answer.records.length} of ${records.length} records`,
                  ),
            );
          });
        },
        (error: unknown) => {
          if (isApiError(error, 40401, 40402)) this.metadata.invalidate(topic);
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const record of records) record.settle(failure);
        },
      )
      .finally(() => {
        this.inFlight--;
        for (const queue of queues) {
          queue.inFlight = false;
          for (const entry of entries) {
            if (queue.entries[0] === entry) queue.entries.shift();
          }
          if (queue.entries.length === 0) this.queues.delete(`${topic}\u0000${queue.partition}`);
        }
        for (const entry of entries) this.bufferedBytes -= entry.bytes;
        for (const wake of this.roomWaiters.splice(0)) wake();
        this.pump();
        if (this.idle()) for (const wake of this.idleWaiters.splice(0)) wake();
      });
  }

  private idle(): boolean {
    return this.inFlight === 0 && this.queues.size === 0 && this.freeEntries.length === 0;
  }

  private armLinger(): void {
    let deadline = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      const head = queue.entries[0];
      if (head && !queue.inFlight && head.kind === 'batch' && !head.sealed) {
        deadline = Math.min(deadline, head.createdAt + this.settings.lingerMs);
      }
    }
    if (deadline === this.lingerDeadline) return;
    clearTimeout(this.lingerTimer);
    this.lingerDeadline = deadline;
    if (deadline === Number.POSITIVE_INFINITY) return;
    this.lingerTimer = setTimeout(
      () => {
        this.lingerDeadline = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, deadline - Date.now()),
    );
  }
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

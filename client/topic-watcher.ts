/**
 * The consumer's WebSocket to the watch API: it names the topics the consumer reads, hears when a
 * partition's high watermark moves, and carries the heartbeats of an idle member, so that a
 * consumer with nothing to read makes no fetches at all (see `docs/consumer-groups.md`, "What an
 * idle consumer costs"). It renews its watch every `renewMs` (the server answers with every
 * partition's high watermark: the safety poll that turns a lost notification into a delay), which
 * also keeps API Gateway from closing the connection as idle. When the connection drops it
 * reconnects with backoff; until it is back, `ready` is false and the consumer long polls as before.
 */
import WebSocket from 'ws';
import type { Transport } from './transport.js';
import { sleep } from './transport.js';

/** One partition's high watermark, as the server announces it. */
export interface PartitionMark {
  readonly partition: number;
  readonly highWatermark: number;
}

/** What the watcher tells the consumer. */
export interface WatchListener {
  /** These partitions of `topic` have records below these high watermarks. */
  onHeads(topic: string, partitions: readonly PartitionMark[]): void;
  /** An idle heartbeat found a new generation, or failed: heartbeat over HTTP now. */
  onHeartbeatAnswer(): void;
  /** Whether the watch became usable or stopped being usable. */
  onReadyChange(ready: boolean): void;
}

/** Bounds of the watcher. */
const RECONNECT_BACKOFF_MS_MAX = 30_000;
/** A renewal unanswered this long means the connection is dead (closed without a close frame). */
const ANSWER_TIMEOUT_MS = 15_000;

type ServerMessage =
  | { type: 'heads'; topic: string; partitions: PartitionMark[] }
  | { type: 'watching'; topics: { topic: string; partitions: PartitionMark[] }[] }
  | { type: 'generation' }
  | { type: 'problem'; action: string };

/** See the module comment. */
export class TopicWatcher {
  private socket: WebSocket | undefined;
  private isReady = false;
  private loop: Promise<void> | undefined;
  private answered: (() => void) | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly url: URL,
    private readonly topics: () => readonly string[],
    private readonly listener: WatchListener,
    private readonly renewMs: number,
    private readonly signal: AbortSignal,
  ) {}

  /** True while the connection is open and the server answered the watch. */
  get ready(): boolean {
    return this.isReady;
  }

  /** Connects and keeps connecting until the signal aborts. */
  start(): void {
    this.loop ??= this.run();
  }

  async stopped(): Promise<void> {
    this.socket?.terminate();
    await this.loop;
  }

  /** Sends a heartbeat over the connection; false when it is not ready (heartbeat over HTTP). */
  heartbeat(group: string, memberId: string, generation: number): boolean {
    if (!this.isReady || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify({ action: 'heartbeat', group, memberId, generation }));
    return true;
  }

  private setReady(ready: boolean): void {
    if (this.isReady === ready) return;
    this.isReady = ready;
    this.listener.onReadyChange(ready);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.signal.aborted) {
      const lasted = await this.connectOnce().catch(() => false);
      this.setReady(false);
      failures = lasted ? 0 : failures + 1;
      const backoff = Math.min(RECONNECT_BACKOFF_MS_MAX, 500 * 2 ** Math.min(failures, 10));
      await sleep(Math.floor(backoff / 2 + Math.random() * (backoff / 2)), this.signal).catch(
        () => undefined,
      );
    }
  }

  /** One connection, until it closes; true when it was answered at least once. */
  private async connectOnce(): Promise<boolean> {
    const headers = await this.transport.upgradeHeaders(this.url);
    const socket = new WebSocket(this.url, { headers, handshakeTimeout: ANSWER_TIMEOUT_MS });
    this.socket = socket;
    let answeredOnce = false;
    const closed = new Promise<void>((resolve) => {
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    const abort = () => socket.terminate();
    this.signal.addEventListener('abort', abort, { once: true });
    socket.on('message', (data) => {
      const message = parseMessage(data);
      if (message === undefined) return;
      if (message.type === 'watching') {
        answeredOnce = true;
        this.answered?.();
        this.setReady(true);
        for (const { topic, partitions } of message.topics) this.listener.onHeads(topic, partitions);
      } else if (message.type === 'heads') {
        this.listener.onHeads(message.topic, message.partitions);
      } else if (message.type === 'generation' || message.action === 'heartbeat') {
        this.listener.onHeartbeatAnswer();
      } else {
        // A watch refused (a topic deleted, not allowed): give up this connection, long poll meanwhile.
        socket.terminate();
      }
    });
    try {
      await Promise.race([closed, new Promise((resolve) => socket.once('open', resolve))]);
      while (socket.readyState === WebSocket.OPEN && !this.signal.aborted) {
        const answer = new Promise<boolean>((resolve) => {
          this.answered = () => resolve(true);
          setTimeout(() => resolve(false), ANSWER_TIMEOUT_MS).unref();
        });
        socket.send(JSON.stringify({ action: 'watch', topics: this.topics() }));
        if (!(await Promise.race([answer, closed.then(() => true)]))) break;
        await Promise.race([closed, sleep(this.renewMs, this.signal).catch(() => undefined)]);
      }
    } finally {
      this.answered = undefined;
      this.signal.removeEventListener('abort', abort);
      socket.terminate();
      await closed;
    }
    return answeredOnce;
  }
}

function parseMessage(data: WebSocket.RawData): ServerMessage | undefined {
  try {
    const parsed = JSON.parse(data.toString()) as Partial<ServerMessage> | null;
    return typeof parsed?.type === 'string' ? (parsed as ServerMessage) : undefined;
  } catch {
    return undefined;
  }
}

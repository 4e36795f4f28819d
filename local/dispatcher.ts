/**
 * The dispatcher on the local stack: the very handler of `functions/dispatch-subscriptions.ts`,
 * woken as in AWS by the log table's stream (the shared stream follower hands it the appends) and
 * by a schedule (a timer), delivering to module handlers in this process.
 *
 * Runs never overlap within a lane: one lane for stream wake-ups (a wake-up during a run is merged
 * into one pending run), one for the sweeps. A stream wake-up returns at once, so delivery never
 * holds up the follower (and the other consumers of the stream).
 */
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  createHandler,
  type DispatchHandler,
  type DispatchSummary,
} from '../functions/dispatch-subscriptions.js';
import type { DispatcherOptions } from '../shared/domain/dispatcher.js';
import { moduleFoldersOf } from '../shared/module-folders.js';
import type { FunctionInvoker } from '../shared/ports/function-invoker.js';
import type { ConnectionPoster } from '../shared/ports/topic-watch.js';
import type { Runtime } from '../shared/runtime.js';
import { ModuleInvoker } from './module-invoker.js';

export interface LocalDispatcherOptions {
  /** How often every subscription is swept (the schedule). @default 1000 */
  readonly sweepIntervalMs?: number;
  /**
   * Runs the targets. @default module handlers inside the runtime config's `moduleDirs` (the
   * working directory when it has none), relative paths from the working directory
   */
  readonly invoker?: FunctionInvoker;
  readonly dispatcher?: Omit<DispatcherOptions, 'bootstrapServers'>;
  /** The longest one run may take (a Lambda's longest timeout, as the dispatcher's in AWS). @default 900000 */
  readonly runMsMax?: number;
  /** Called after each run (measurements, tests). */
  readonly onRun?: (summary: DispatchSummary) => void;
  readonly onError?: (error: unknown) => void;
  /** Where appends are announced to watching consumers (the local watch server). @default nowhere */
  readonly watchPoster?: ConnectionPoster;
}

export interface LocalDispatcher {
  /** The stream consumer: INSERT records wake a run for their partitions; returns at once. */
  readonly consume: (event: DynamoDBStreamEvent) => Promise<void>;
  /** Only the records the dispatcher consumes (as its event source mapping's filter in AWS). */
  readonly filter: (record: DynamoDBRecord) => boolean;
  /** Starts a sweep now (or right after the one in progress). */
  sweep(): void;
  /** Resolves once no run is in progress or pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** A lane of runs: one at a time, later wake-ups merged into one pending run. */
class Lane {
  private running: Promise<void> | undefined;
  private pending: unknown[] | undefined;

  constructor(
    private readonly handler: DispatchHandler,
    private readonly merge: (events: unknown[]) => unknown,
    private readonly onRun: (summary: DispatchSummary) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  wake(event: unknown): void {
    this.pending ??= [];
    this.pending.push(event);
    if (!this.running) this.running = this.drain();
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const events = this.pending;
      this.pending = undefined;
      try {
        this.onRun(await this.handler(this.merge(events)));
      } catch (error) {
        this.onError(error);
      }
    }
    this.running = undefined;
  }
}

/** Starts the local dispatcher; `stop` ends the timer and waits for the runs in progress. */
export function startLocalDispatcher(
  runtime: Runtime,
  options: LocalDispatcherOptions = {},
): LocalDispatcher {
  const onError = options.onError ?? ((error: unknown) => console.error('[shoal] dispatcher:', error));
  const onRun = options.onRun ?? (() => undefined);
  const handler = createHandler(runtime, {
    invoker: options.invoker ?? new ModuleInvoker(moduleFoldersOf(runtime.config)),
    metrics: false,
    runMsMax: options.runMsMax ?? 900_000,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    ...(options.watchPoster ? { watchPoster: options.watchPoster } : {}),
  });
  const appends = new Lane(
    handler,
    (events) => ({ Records: (events as DynamoDBStreamEvent[]).flatMap((event) => event.Records) }),
    onRun,
    onError,
  );
  const sweeps = new Lane(handler, () => ({ source: 'shoal.local.schedule' }), onRun, onError);
  let stopped = false;
  const interval = options.sweepIntervalMs ?? 1_000;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      if (stopped) return;
      sweeps.wake({});
      void sweeps.idle().then(() => {
        if (!stopped) schedule();
      });
    }, interval);
  };
  schedule();
  return {
    consume: async (event) => {
      if (!stopped && event.Records.length > 0) appends.wake(event);
    },
    filter: (record) => record.eventName === 'INSERT',
    sweep: () => {
      if (!stopped) sweeps.wake({});
    },
    idle: async () => {
      await Promise.all([appends.idle(), sweeps.idle()]);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([appends.idle(), sweeps.idle()]);
    },
  };
}

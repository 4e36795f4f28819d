/**
 * What every command gets: the client, stdout for data (with backpressure), stderr for people
 * (progress, summaries) and the parsed options. Data and messages never share a stream, so
 * `shoal consume ... | jq` sees only records.
 */
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type Consumer, Shoal } from '../client/index.js';

/** A mistake in the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  header: { type: 'string', multiple: true },
  auth: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type OptionsConfig = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** The environment a command runs in; injected so tests could run commands in process. */
export interface CliEnvironment {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Parses a command's arguments with the global options; unknown options are usage errors. */
export function parseCommand<T extends OptionsConfig>(args: readonly string[], options: T) {
  const config = { ...GLOBAL_OPTIONS, ...options } as NonNullable<OptionsConfig>;
  try {
    return parseArgs({
      args: joinNegativeValues(args, config),
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // Node's messages add advice about '--' after the first sentence: keep the first.
    const message = (error as Error).message.replace(/\s+/g, ' ');
    const first = message.split(/\. (?=[A-Z])/)[0] ?? message;
    const option = /^Option '(--[^']+)' argument is ambiguous/.exec(first)?.[1];
    throw new UsageError(option ? `${first}: write ${option}=<value> for a value starting with '-'` : first);
  }
}

/**
 * `-o -10` and `--retention-ms -1` as kcat and Kafka's tools take them: a negative number after an
 * option that takes a value is that value (parseArgs alone would call it ambiguous).
 */
function joinNegativeValues(args: readonly string[], config: NonNullable<OptionsConfig>): string[] {
  const takesValue = new Set<string>();
  for (const [name, option] of Object.entries(config)) {
    if (option.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (option.short) takesValue.add(`-${option.short}`);
  }
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if (takesValue.has(arg) && next !== undefined && /^-\d+$/.test(next)) {
      joined.push(`${arg.startsWith('--') ? arg : `--${longNameOf(arg, config)}`}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function longNameOf(short: string, config: NonNullable<OptionsConfig>): string {
  return Object.entries(config).find(([, option]) => `-${option.short}` === short)?.[0] ?? short.slice(1);
}

/** Builds the client from `--url` / `SHOAL_URL`, `--header`, `--auth` and `--region`. */
export function clientFrom(
  values: { url?: string; header?: string[]; auth?: string; region?: string },
  env: CliEnvironment['env'],
): Shoal {
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const at = header.indexOf(':');
    if (at <= 0) throw new UsageError(`--header takes 'Name: value', got '${header}'`);
    headers[header.slice(0, at).trim()] = header.slice(at + 1).trim();
  }
  const auth = values.auth;
  if (auth !== undefined && auth !== 'iam' && auth !== 'none') {
    throw new UsageError(`--auth is 'iam' or 'none', got '${auth}'`);
  }
  return new Shoal({
    url: values.url ?? env.SHOAL_URL ?? 'http://127.0.0.1:8092',
    headers,
    // Fewer attempts than a long-running application makes: a person is waiting.
    retry: { retriesMax: 5, retryTimeMaxMs: 30_000 },
    ...(auth === 'none' ? { auth: 'none' } : {}),
    ...(auth === 'iam' || values.region !== undefined
      ? { auth: { type: 'iam', ...(values.region === undefined ? {} : { region: values.region }) } }
      : {}),
  });
}

/** Writes to a stream, waiting when its buffer is full (a slow reader of a pipe slows us down). */
export async function write(stream: Writable, chunk: string | Buffer): Promise<void> {
  if (!stream.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        stream.off('drain', onDrain);
        reject(error);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  }
}

/** How often a run that stops once caught up checks whether it is. */
const CAUGHT_UP_CHECK_MS = 50;

/**
 * When a `consumer.run` loop of a command ends: on SIGINT or SIGTERM, when the command calls
 * `finish` (a count reached), when the consumer stops, or, unless following, once it has caught up.
 * `dispose` removes the signal handlers.
 */
export function runEnd(consumer: Pick<Consumer, 'caughtUp' | 'whenStopped'>, follow: boolean) {
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onSignal = () => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    finish: () => finish(),
    async reached(): Promise<void> {
      const watcher = follow
        ? undefined
        : setInterval(() => consumer.caughtUp() && finish(), CAUGHT_UP_CHECK_MS);
      try {
        await Promise.race([finished, consumer.whenStopped()]);
      } finally {
        clearInterval(watcher);
      }
    },
    dispose(): void {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * A running count on stderr for long runs: redrawn in place on a terminal, one line every few
 * seconds otherwise. Silent for the first second, so short runs print nothing but their summary.
 */
export class Progress {
  private count = 0;
  private readonly startedAt = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(
    private readonly stream: CliEnvironment['stderr'],
    private readonly verb: string,
    enabled: boolean,
  ) {
    if (!enabled) return;
    const tty = stream.isTTY === true;
    this.timer = setInterval(() => this.draw(tty), tty ? 250 : 5_000);
    this.timer.unref();
  }

  add(records: number): void {
    this.count += records;
  }

  get total(): number {
    return this.count;
  }

  get elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  private draw(tty: boolean): void {
    if (Date.now() - this.startedAt < 1_000) return;
    const text = `${this.verb} ${this.count} records (${this.elapsedSeconds.toFixed(0)} s)`;
    this.stream.write(tty ? `\r${text}` : `shoal: ${text}\n`);
    this.drawn = tty;
  }

  /** Stops drawing and clears the line on a terminal. */
  stop(): void {
    clearInterval(this.timer);
    if (this.drawn) this.stream.write('\r\u001b[K');
  }
}

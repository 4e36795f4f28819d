/**
 * KafkaJS's logger and instrumentation events: `logger()` with `info`/`warn`/`error`/`debug`,
 * `logLevel` and `logCreator`, and `on(eventName, listener)` returning the function that removes
 * the listener. Which events each part emits is listed where it is created.
 */

/** KafkaJS's log levels. */
export enum logLevel {
  NOTHING = 0,
  ERROR = 1,
  WARN = 2,
  INFO = 4,
  DEBUG = 5,
}

export interface LogEntry {
  namespace: string;
  level: logLevel;
  label: string;
  log: { readonly timestamp: string; readonly message: string; [key: string]: unknown };
}

export type logCreator = (logLevel: logLevel) => (entry: LogEntry) => void;

export interface Logger {
  info: (message: string, extra?: object) => void;
  error: (message: string, extra?: object) => void;
  warn: (message: string, extra?: object) => void;
  debug: (message: string, extra?: object) => void;
  namespace: (namespace: string, logLevel?: logLevel) => Logger;
  setLogLevel: (logLevel: logLevel) => void;
}

/** As KafkaJS's default: one JSON line per entry on the console. */
const consoleLogCreator: logCreator = () => (entry) => {
  const line = JSON.stringify({
    level: entry.label,
    logger: 'shoal-kafkajs',
    namespace: entry.namespace,
    ...entry.log,
  });
  if (entry.level === logLevel.ERROR) console.error(line);
  else if (entry.level === logLevel.WARN) console.warn(line);
  else console.log(line);
};

/** A logger writing through `creator` at `level` and below. */
export function createLogger(
  level: logLevel = logLevel.INFO,
  creator: logCreator = consoleLogCreator,
): Logger {
  let current = level;
  const write = creator(level);
  const make = (namespace: string, own?: logLevel): Logger => {
    const at =
      (entryLevel: logLevel, label: string) =>
      (message: string, extra: object = {}): void => {
        if (entryLevel > (own ?? current) || (own ?? current) === logLevel.NOTHING) return;
        write({
          namespace,
          level: entryLevel,
          label,
          log: { timestamp: new Date().toISOString(), message, ...extra },
        });
      };
    return {
      error: at(logLevel.ERROR, 'ERROR'),
      warn: at(logLevel.WARN, 'WARN'),
      info: at(logLevel.INFO, 'INFO'),
      debug: at(logLevel.DEBUG, 'DEBUG'),
      namespace: (name, nested) => make(name, nested ?? own),
      setLogLevel: (next) => {
        current = next;
      },
    };
  };
  return make('');
}

/** An event as KafkaJS delivers it to listeners. */
export interface InstrumentationEvent<T> {
  id: string;
  type: string;
  timestamp: number;
  payload: T;
}

/** Listeners by event name. */
export class Instrumentation {
  private readonly listeners = new Map<string, Set<(event: InstrumentationEvent<unknown>) => void>>();
  private sequence = 0;

  constructor(
    private readonly names: Readonly<Record<string, string>>,
    private readonly part: string,
  ) {}

  /** Adds a listener; returns the function that removes it. A name the part never emits is a TypeError. */
  // biome-ignore lint/suspicious/noExplicitAny: the listener type of KafkaJS's catch-all overload
  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    if (!Object.values(this.names).includes(eventName)) {
      throw new TypeError(
        `${this.part}.on: eventName must be one of ${Object.values(this.names).join(', ')}, got '${eventName}'`,
      );
    }
    if (typeof listener !== 'function') throw new TypeError(`${this.part}.on: listener must be a function`);
    const set = this.listeners.get(eventName) ?? new Set();
    set.add(listener);
    this.listeners.set(eventName, set);
    return () => {
      set.delete(listener);
    };
  }

  /** Calls the listeners of `type`; a listener that throws does not stop the others or the caller. */
  emit(type: string, payload: unknown): void {
    const set = this.listeners.get(type);
    if (!set || set.size === 0) return;
    const event = { id: String(this.sequence++), type, timestamp: Date.now(), payload };
    for (const listener of set) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; KafkaJS ignores it too.
      }
    }
  }
}

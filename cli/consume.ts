/**
 * `shoal consume <topic>`: prints records, as kcat's `-C`. By group (`--group`: joins, commits what
 * it printed, leaves) or by partition (standalone). Reads to the end and exits, or follows (`-f`).
 */
import type { ConsumedRecord, Consumer, Shoal, StartFrom } from '../client/index.js';
import {
  type CliEnvironment,
  clientFrom,
  Progress,
  parseCommand,
  runEnd,
  UsageError,
  write,
} from './context.js';
import { compileFormat, recordJson, textFormat } from './format.js';
import { wholeNumber } from './topics.js';

export const CONSUME_HELP = `Usage: shoal consume <topic>... [options]

Prints records, one per line, then exits at the end of the topic (or follows with -f).

Options:
  -G, --group <group>     read as a member of this consumer group and commit what was printed
  -p, --partition <n>     read only this partition (repeatable); with --group, a standalone member
  --from-beginning        start at the earliest offset (a group: where it has no committed offset)
  -o, --offset <o>        beginning | end | stored | <n> | -<n> (n before the end) | s@<timestamp>
  --timestamp <t>         start at the first record at or after this time (ISO-8601 or epoch ms)
  -c, --count <n>         exit after <n> records
  -f, --follow            keep waiting for new records (Ctrl-C to stop)
  --format <f>            json (JSON lines), text (the default: the value), or a format string:
                          %t topic %p partition %o offset %k key %s value %K %S their lengths
                          %T timestamp (ms) %h headers, escapes \\n \\t \\r
  --json                  the same as --format json
  -K, --key-separator <s> text format: print key<s>value
  --max-wait-ms <n>       long-poll wait of each fetch
  -q, --quiet             no progress or summary on stderr
  --url <u>               the API (default $SHOAL_URL or http://127.0.0.1:8092)

Without --group, reading starts at the beginning (as kcat); with --group, at the committed offset,
else at the end unless --from-beginning (as Kafka's console consumer).
`;

const OPTIONS = {
  group: { type: 'string', short: 'G' },
  partition: { type: 'string', short: 'p', multiple: true },
  'from-beginning': { type: 'boolean' },
  offset: { type: 'string', short: 'o' },
  timestamp: { type: 'string' },
  count: { type: 'string', short: 'c' },
  follow: { type: 'boolean', short: 'f' },
  format: { type: 'string' },
  'key-separator': { type: 'string', short: 'K' },
  'max-wait-ms': { type: 'string' },
} as const;

type Start =
  | { kind: 'from'; from: StartFrom }
  | { kind: 'stored' }
  | { kind: 'absolute'; offset: number }
  | { kind: 'fromEnd'; count: number };

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** `shoal consume`'s command line, checked. */
interface ConsumeSettings {
  readonly topics: readonly string[];
  readonly group: string | undefined;
  readonly partitions: readonly number[];
  /** Records to print before exiting; undefined: all there are (or, following, forever). */
  readonly count: number | undefined;
  readonly start: Start;
  readonly render: (record: ConsumedRecord) => Buffer;
  readonly follow: boolean;
  readonly maxWaitMs: number;
}

/** Runs `shoal consume <topic>...`: prints records until the end, `--count` or a signal; exit code 0. */
export async function consumeCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  if (values.help) {
    await write(io.stdout, CONSUME_HELP);
    return 0;
  }
  const settings = consumeSettings(values, positionals);
  if (settings === undefined) return 0;
  const { group, count, maxWaitMs } = settings;
  const shoal = clientFrom(values, io.env);
  const consumer = shoal.consumer({
    ...(group === undefined ? {} : { groupId: group }),
    maxWaitMs: Math.min(maxWaitMs, 20_000),
    ...(count === undefined ? {} : { maxRecords: Math.min(Math.max(count, 1), 500) }),
  });
  await startReading(shoal, consumer, settings);
  const progress = new Progress(io.stderr, 'consumed', !values.quiet);
  const printed = await printRecords(consumer, settings, io, progress);
  if (!values.quiet) {
    await write(io.stderr, `Consumed ${printed} records in ${progress.elapsedSeconds.toFixed(1)} s\n`);
  }
  return 0;
}

/**
 * The topics and options of `shoal consume`, or a usage error naming the first wrong one;
 * undefined for `--count 0`, which reads nothing.
 */
function consumeSettings(values: Values, positionals: readonly string[]): ConsumeSettings | undefined {
  const topics = positionals;
  if (topics.length === 0) throw new UsageError('consume needs a topic');
  const group = values.group;
  const partitions = (values.partition ?? []).map((text) => wholeNumber('--partition', text));
  const count = values.count === undefined ? undefined : wholeNumber('--count', values.count);
  if (count === 0) return undefined;
  const start = startOf(values);
  const render = formatterOf(values.json ? 'json' : values.format, values['key-separator']);
  const follow = values.follow ?? false;
  const maxWaitMs =
    values['max-wait-ms'] === undefined
      ? follow
        ? 5_000
        : 250
      : wholeNumber('--max-wait-ms', values['max-wait-ms']);
  return { topics, group, partitions, count, start, render, follow, maxWaitMs };
}

/** Subscribes as a group member, or assigns the partitions (a standalone member with a group). */
async function startReading(
  shoal: Shoal,
  consumer: Consumer,
  { topics, group, partitions, start }: ConsumeSettings,
): Promise<void> {
  if (group !== undefined && partitions.length === 0) {
    if (start.kind === 'absolute' || start.kind === 'fromEnd') {
      throw new UsageError(
        'with --group, start with --from-beginning, --offset beginning|end|stored or --timestamp',
      );
    }
    await consumer.subscribe({ topics, from: start.kind === 'from' ? start.from : 'latest' });
  } else {
    const offsets = await explicitOffsets(shoal.admin(), topics, partitions, start);
    const targets =
      offsets.size > 0
        ? [...offsets.values()].flat()
        : topics.flatMap((topic) =>
            partitions.length === 0 ? [{ topic }] : partitions.map((partition) => ({ topic, partition })),
          );
    // A group given: its committed offsets first ('stored'), else the start asked for.
    const from: StartFrom = start.kind === 'from' ? start.from : group === undefined ? 'earliest' : 'latest';
    await consumer.assign(targets, { from });
  }
}

/**
 * Prints records on stdout until `--count` of them, the end (unless following), SIGINT or SIGTERM,
 * then disconnects; returns how many it printed. A group commits only what was printed.
 */
async function printRecords(
  consumer: Consumer,
  { count, render, follow }: ConsumeSettings,
  io: CliEnvironment,
  progress: Progress,
): Promise<number> {
  let printed = 0;
  const end = runEnd(consumer, follow);
  try {
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isRunning }) => {
        const lines: Buffer[] = [];
        const taken: ConsumedRecord[] = [];
        for (const record of batch.records) {
          if (!isRunning() || (count !== undefined && printed + taken.length >= count)) break;
          lines.push(render(record));
          taken.push(record);
        }
        if (taken.length === 0) return;
        await write(io.stdout, Buffer.concat(lines));
        for (const record of taken) resolveOffset(record.offset);
        printed += taken.length;
        progress.add(taken.length);
        if (count !== undefined && printed >= count) end.finish();
      },
    });
    await end.reached();
    await consumer.disconnect();
    await consumer.whenStopped();
  } finally {
    end.dispose();
    progress.stop();
    await disconnectQuietly(consumer);
  }
  return printed;
}

async function disconnectQuietly(consumer: Consumer): Promise<void> {
  await consumer.disconnect().catch(() => undefined);
}

function startOf(values: { 'from-beginning'?: boolean; offset?: string; timestamp?: string }): Start {
  const given = [values['from-beginning'], values.offset, values.timestamp].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('give one of --from-beginning, --offset and --timestamp');
  if (values['from-beginning']) return { kind: 'from', from: 'earliest' };
  if (values.timestamp !== undefined)
    return { kind: 'from', from: { timestamp: timestampOf(values.timestamp) } };
  const offset = values.offset;
  if (offset === undefined) return { kind: 'stored' };
  if (offset === 'beginning' || offset === 'earliest') return { kind: 'from', from: 'earliest' };
  if (offset === 'end' || offset === 'latest') return { kind: 'from', from: 'latest' };
  if (offset === 'stored') return { kind: 'stored' };
  if (offset.startsWith('s@')) return { kind: 'from', from: { timestamp: timestampOf(offset.slice(2)) } };
  if (/^-\d{1,15}$/.test(offset)) return { kind: 'fromEnd', count: Number(offset.slice(1)) };
  if (/^\d{1,15}$/.test(offset)) return { kind: 'absolute', offset: Number(offset) };
  throw new UsageError(`--offset takes beginning, end, stored, <n>, -<n> or s@<timestamp>, got '${offset}'`);
}

function timestampOf(text: string): number | string {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (Number.isNaN(Date.parse(text)))
    throw new UsageError(`not a timestamp (ISO-8601 or epoch ms): '${text}'`);
  return new Date(Date.parse(text)).toISOString();
}

/** Offsets per partition for `--offset <n>` and `--offset -<n>`; empty for the other starts. */
async function explicitOffsets(
  admin: ReturnType<ReturnType<typeof clientFrom>['admin']>,
  topics: readonly string[],
  partitions: readonly number[],
  start: Start,
): Promise<Map<string, { topic: string; partition: number; offset: number }[]>> {
  const offsets = new Map<string, { topic: string; partition: number; offset: number }[]>();
  if (start.kind !== 'absolute' && start.kind !== 'fromEnd') return offsets;
  for (const topic of topics) {
    const heads = await admin.fetchTopicOffsets(topic);
    const chosen =
      partitions.length === 0 ? heads : heads.filter((head) => partitions.includes(head.partition));
    offsets.set(
      topic,
      chosen.map((head) => ({
        topic,
        partition: head.partition,
        offset:
          start.kind === 'absolute'
            ? start.offset
            : Math.max(head.logStartOffset, head.highWatermark - start.count),
      })),
    );
  }
  return offsets;
}

function formatterOf(
  format: string | undefined,
  keySeparator: string | undefined,
): (record: ConsumedRecord) => Buffer {
  if (format === undefined || format === 'text') return textFormat(keySeparator);
  if (format === 'json') return (record) => Buffer.from(`${recordJson(record)}\n`, 'utf8');
  if (format.includes('%')) return compileFormat(format);
  throw new UsageError(`--format is json, text or a format string with %-tokens, got '${format}'`);
}

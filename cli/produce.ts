/**
 * `shoal produce <topic>`: one record per input line (stdin or `--file`), as kcat's `-P`.
 *
 * With `--idempotency-key <prefix>` the lines are sent in fixed chunks of `--batch-records`, chunk
 * `n` under the key `<prefix>-<n>`: running the same command on the same input again (after a crash,
 * a lost connection, a Ctrl-C) appends nothing twice.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Producer, ProducerRecord, RecordMetadata } from '../client/index.js';
import { type CliEnvironment, clientFrom, Progress, parseCommand, UsageError, write } from './context.js';
import { DATA_FORMATS, type DataFormat, LineError, parseLine } from './format.js';
import { wholeNumber } from './topics.js';

export const PRODUCE_HELP = `Usage: shoal produce <topic> [options]

Reads one record per line from stdin (or --file) and appends them. Empty lines are skipped.

Options:
  -F, --file <path>           read lines from a file instead of stdin
  -K, --key-separator <sep>   split each line at the first <sep>: key before, value after (as kcat -K)
  --key-format <f>            string (default), json or binary (base64 text)
  --value-format <f>          string (default), json or binary (base64 text)
  -H, --record-header <n=v>   add a header to every record (repeatable)
  -p, --partition <n>         send every record to this partition (default: by key, keyless spread)
  --idempotency-key <prefix>  send chunks under <prefix>-0, <prefix>-1...: a rerun duplicates nothing
  --batch-records <n>         records per chunk handed to the producer (default 500)
  --linger-ms <n>             producer linger time (default 5)
  --json                      print a JSON summary on stdout
  -q, --quiet                 no progress or summary on stderr
  --url <u>                   the API (default $SHOAL_URL or http://127.0.0.1:8092)
`;

const OPTIONS = {
  file: { type: 'string', short: 'F' },
  'key-separator': { type: 'string', short: 'K' },
  'key-format': { type: 'string' },
  'value-format': { type: 'string' },
  'record-header': { type: 'string', short: 'H', multiple: true },
  partition: { type: 'string', short: 'p' },
  'idempotency-key': { type: 'string' },
  'batch-records': { type: 'string' },
  'linger-ms': { type: 'string' },
} as const;

/** Sends waiting for their acknowledgement at once: bounds memory on a large input. */
const SENDS_PENDING_MAX = 8;
const BATCH_RECORDS_MAX = 10_000;

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** `shoal produce`'s command line, checked. */
interface ProduceSettings {
  readonly topic: string;
  /** How each input line becomes a record. */
  readonly line: Parameters<typeof parseLine>[1];
  readonly batchRecords: number;
  readonly lingerMs: number | undefined;
  /** Chunk `n` is sent under the idempotency key `<prefix>-<n>`. */
  readonly prefix: string | undefined;
}

/** Runs `shoal produce <topic>`: sends every non-empty input line as a record; exit code 0. */
export async function produceCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  if (values.help) {
    await write(io.stdout, PRODUCE_HELP);
    return 0;
  }
  const settings = produceSettings(values, positionals);
  const shoal = clientFrom(values, io.env);
  const producer = shoal.producer({
    ...(settings.lingerMs === undefined ? {} : { lingerMs: settings.lingerMs }),
    requestRecordsMax: Math.max(settings.batchRecords, 1),
  });
  const input = values.file === undefined ? io.stdin : createReadStream(values.file);
  const progress = new Progress(io.stderr, 'produced', !values.quiet);
  const perPartition = new Map<number, number>();
  try {
    await sendLines(input, producer, settings, (positions) => {
      progress.add(positions.length);
      for (const position of positions) {
        perPartition.set(position.partition, (perPartition.get(position.partition) ?? 0) + 1);
      }
    });
    await producer.close();
  } finally {
    progress.stop();
  }
  const topic = settings.topic;
  const partitions = Object.fromEntries([...perPartition.entries()].sort(([a], [b]) => a - b));
  if (values.json) {
    await write(io.stdout, `${JSON.stringify({ topic, records: progress.total, partitions })}\n`);
  }
  if (!values.quiet) {
    await write(
      io.stderr,
      `Produced ${progress.total} records to ${topic} (${perPartition.size} partitions) in ${progress.elapsedSeconds.toFixed(1)} s\n`,
    );
  }
  return 0;
}

/** The topic and options of `shoal produce`, or a usage error naming the first wrong one. */
function produceSettings(values: Values, positionals: readonly string[]): ProduceSettings {
  const [topic, ...extra] = positionals;
  if (topic === undefined) throw new UsageError('produce needs a topic');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const keyFormat = dataFormat('--key-format', values['key-format']);
  const valueFormat = dataFormat('--value-format', values['value-format']);
  const headers = (values['record-header'] ?? []).map((header) => {
    const at = header.indexOf('=');
    if (at <= 0) throw new UsageError(`--record-header takes name=value, got '${header}'`);
    return { name: header.slice(0, at), value: header.slice(at + 1) };
  });
  const partition = values.partition === undefined ? undefined : wholeNumber('--partition', values.partition);
  const batchRecords =
    values['batch-records'] === undefined ? 500 : wholeNumber('--batch-records', values['batch-records']);
  if (batchRecords < 1 || batchRecords > BATCH_RECORDS_MAX) {
    throw new UsageError(`--batch-records must be from 1 to ${BATCH_RECORDS_MAX}`);
  }
  const lingerMs =
    values['linger-ms'] === undefined ? undefined : wholeNumber('--linger-ms', values['linger-ms']);
  const prefix = values['idempotency-key'];
  if (prefix !== undefined && !/^[\x21-\x7e]{1,200}$/.test(prefix)) {
    throw new UsageError('--idempotency-key takes 1 to 200 printable ASCII characters without spaces');
  }
  const line = {
    ...(values['key-separator'] === undefined ? {} : { keySeparator: values['key-separator'] }),
    keyFormat,
    valueFormat,
    headers,
    ...(partition === undefined ? {} : { partition }),
  };
  return { topic, line, batchRecords, lingerMs, prefix };
}

/**
 * Sends the input's lines in chunks of `batchRecords`, at most {@link SENDS_PENDING_MAX} chunks
 * unacknowledged at once, and returns when every chunk is acknowledged; `sent` sees each chunk's
 * positions. A line that is not a record fails with its line number.
 */
async function sendLines(
  input: NodeJS.ReadableStream,
  producer: Producer,
  { topic, line: lineOptions, batchRecords, prefix }: ProduceSettings,
  sent: (positions: RecordMetadata[]) => void,
): Promise<void> {
  const pending: Promise<void>[] = [];
  let chunk: ProducerRecord[] = [];
  let chunkIndex = 0;
  let lineNumber = 0;
  const send = async (records: ProducerRecord[]) => {
    const counted = producer
      .send({
        topic,
        records,
        ...(prefix === undefined ? {} : { idempotencyKey: `${prefix}-${chunkIndex}` }),
      })
      .then(sent);
    chunkIndex++;
    // Awaited below; this only keeps a failure from being reported as unhandled in the meantime.
    counted.catch(() => undefined);
    pending.push(counted);
    if (pending.length >= SENDS_PENDING_MAX) await pending.shift();
  };

  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lineNumber++;
    if (line === '') continue;
    try {
      chunk.push(parseLine(line, lineOptions));
    } catch (error) {
      if (error instanceof LineError) throw new LineError(`line ${lineNumber}: ${error.message}`);
      throw error;
    }
    if (chunk.length >= batchRecords) {
      await send(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await send(chunk);
  await Promise.all(pending);
}

function dataFormat(option: string, text: string | undefined): DataFormat {
  if (text === undefined) return 'string';
  if (!DATA_FORMATS.includes(text as DataFormat)) {
    throw new UsageError(`${option} is one of ${DATA_FORMATS.join(', ')}, got '${text}'`);
  }
  return text as DataFormat;
}

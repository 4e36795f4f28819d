/**
 * `shoal pipe <from> <to> --group <group>`: copies records from one topic to another exactly once,
 * the smallest consume-transform-produce loop there is (the transform keeps each record as it is).
 * Each batch is written to `<to>` together with the group's offsets of `<from>` in one transaction
 * (`POST /v1/groups/{group}/transactions`): stop it, crash it or run two at once, and every record
 * of `<from>` is in `<to>` once.
 */
import type { ConsumedRecord } from '../client/index.js';
import {
  type CliEnvironment,
  clientFrom,
  Progress,
  parseCommand,
  runEnd,
  UsageError,
  write,
} from './context.js';
import { wholeNumber } from './topics.js';

export const PIPE_HELP = `Usage: shoal pipe <from-topic> <to-topic> --group <group> [options]

Copies records from one topic to another exactly once: each batch is appended to <to-topic> and
the group's offsets of <from-topic> are committed in one transaction, all or nothing.

Options:
  -G, --group <group>   the consumer group (required): where the copy resumes
  --from-beginning      start at the earliest offset where the group has no committed offset
  -c, --count <n>       exit after <n> records
  -f, --follow          keep copying new records (Ctrl-C to stop); else exit at the end
  -q, --quiet           no progress or summary on stderr
`;

const OPTIONS = {
  group: { type: 'string', short: 'G' },
  'from-beginning': { type: 'boolean' },
  count: { type: 'string', short: 'c' },
  follow: { type: 'boolean', short: 'f' },
} as const;

/** Records one transaction carries at most (a request holds 1,000). */
const BATCH_RECORDS_MAX = 500;

/** Runs `shoal pipe`; exit code 0. */
export async function pipeCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  if (values.help) {
    await write(io.stdout, PIPE_HELP);
    return 0;
  }
  const [from, to, ...extra] = positionals;
  if (from === undefined || to === undefined) throw new UsageError('pipe needs <from-topic> and <to-topic>');
  if (extra.length > 0) throw new UsageError(`pipe takes two topics, got also '${extra.join(' ')}'`);
  const group = values.group;
  if (group === undefined) throw new UsageError('pipe needs --group: the group the copy resumes from');
  const count = values.count === undefined ? undefined : wholeNumber('--count', values.count);
  if (count === 0) return 0;
  const shoal = clientFrom(values, io.env);
  const consumer = shoal.consumer({
    groupId: group,
    autoCommit: false, // the transaction commits the offsets
    maxRecords: Math.min(count ?? BATCH_RECORDS_MAX, BATCH_RECORDS_MAX),
  });
  await consumer.subscribe({ topics: [from], from: values['from-beginning'] ? 'earliest' : 'latest' });
  const progress = new Progress(io.stderr, 'copied', !values.quiet);
  let copied = 0;
  const end = runEnd(consumer, values.follow === true);
  try {
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const taken = batch.records.slice(0, count === undefined ? undefined : count - copied);
        const last = taken[taken.length - 1];
        const member = consumer.membershipInfo();
        if (!last || !member) return;
        await shoal.api.produceTransaction(group, {
          ...member,
          topics: [{ topic: to, records: taken.map(copyOf) }],
          offsets: [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }],
        });
        for (const record of taken) resolveOffset(record.offset);
        copied += taken.length;
        progress.add(taken.length);
        if (count !== undefined && copied >= count) end.finish();
      },
    });
    await end.reached();
  } finally {
    end.dispose();
    progress.stop();
    await consumer.disconnect().catch(() => undefined);
  }
  if (!values.quiet) {
    await write(io.stderr, `Copied ${copied} records from ${from} to ${to} exactly once (group ${group})\n`);
  }
  return 0;
}

/** The record as the produce API takes it: key, value and headers as they were, its timestamp kept. */
function copyOf(record: ConsumedRecord) {
  return {
    key: record.key,
    value: record.value,
    headers: record.headers.map((header) => ({
      name: header.name,
      value: Buffer.from(header.value).toString('base64'),
    })),
    timestamp: record.timestamp,
  };
}

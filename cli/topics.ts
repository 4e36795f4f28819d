/** `shoal topics create|list|describe|alter|delete`, as Kafka's `kafka-topics`. */
import type { Admin } from '../client/index.js';
import { type CliEnvironment, clientFrom, parseCommand, UsageError, write } from './context.js';
import { renderTable } from './format.js';

export const TOPICS_HELP = `Usage: shoal topics <command> [options]

Commands:
  create <topic> --partitions <n> [--config <name>=<value>]... [--if-not-exists]
  list
  describe <topic>
  alter <topic> [--partitions <n>] [--config <name>=<value>]...
  delete <topic>

Config names as in Kafka: retention.ms (-1 keeps records forever), retention.bytes, segment.ms,
segment.bytes, local.retention.ms. --retention-ms <ms> is short for --config retention.ms=<ms>.

Options:
  --json     print the API's JSON instead of a table
  --url <u>  the API (default $SHOAL_URL or http://127.0.0.1:8092)
`;

const OPTIONS = {
  partitions: { type: 'string', short: 'p' },
  'retention-ms': { type: 'string' },
  config: { type: 'string', multiple: true },
  'if-not-exists': { type: 'boolean' },
} as const;

/** Kafka's topic config names and the API's fields. */
const CONFIG_NAMES = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'segment.ms': 'segmentMs',
  'segment.bytes': 'segmentBytes',
  'local.retention.ms': 'localRetentionMs',
} as const;

type ConfigField = (typeof CONFIG_NAMES)[keyof typeof CONFIG_NAMES];

/** `--config name=value`... and `--retention-ms` as API fields. */
function configOf(values: {
  config?: string[];
  'retention-ms'?: string;
}): Partial<Record<ConfigField, number>> {
  const config: Partial<Record<ConfigField, number>> = {};
  for (const entry of values.config ?? []) {
    const at = entry.indexOf('=');
    const name = at > 0 ? entry.slice(0, at) : entry;
    const field = CONFIG_NAMES[name as keyof typeof CONFIG_NAMES];
    if (field === undefined || at <= 0) {
      throw new UsageError(
        `--config takes <name>=<value> with a name of ${Object.keys(CONFIG_NAMES).join(', ')}; got '${entry}'`,
      );
    }
    config[field] = integer(`--config ${name}`, entry.slice(at + 1));
  }
  if (values['retention-ms'] !== undefined)
    config.retentionMs = integer('--retention-ms', values['retention-ms']);
  return config;
}

/** A topic's config in Kafka's names: `retention.ms=604800000 segment.bytes=...`. */
function configText(config: Readonly<Record<string, number>>): string {
  return Object.entries(CONFIG_NAMES)
    .filter(([, field]) => config[field] !== undefined)
    .map(([name, field]) => `${name}=${config[field]}`)
    .join(' ');
}

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** What each `topics` command runs with: the admin client, the options, stdout and the topic name. */
interface TopicsRun {
  readonly admin: Admin;
  readonly values: Values;
  readonly out: (text: string) => Promise<void>;
  /** The topic named on the command line, or a usage error. */
  readonly topic: () => string;
}

/** Runs `shoal topics <command>`; exit code 0, or 2 after the help when no command is given. */
export async function topicsCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  const [command, topic, ...extra] = positionals;
  if (values.help || command === undefined) {
    await write(io.stdout, TOPICS_HELP);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const run: TopicsRun = {
    admin: clientFrom(values, io.env).admin(),
    values,
    out: (text: string) => write(io.stdout, text),
    topic: () => {
      if (topic === undefined) throw new UsageError(`topics ${command} needs a topic name`);
      return topic;
    },
  };
  switch (command) {
    case 'create':
      return createTopic(run);
    case 'list':
      return listTopics(run);
    case 'describe':
      return describeTopic(run);
    case 'alter':
      return alterTopic(run);
    case 'delete':
      return deleteTopic(run);
    default:
      throw new UsageError(`unknown command 'topics ${command}'`);
  }
}

async function createTopic({ admin, values, out, topic }: TopicsRun): Promise<number> {
  const name = topic();
  if (values.partitions === undefined) throw new UsageError('topics create needs --partitions <n>');
  const partitions = wholeNumber('--partitions', values.partitions);
  try {
    const created = await admin.createTopic({ name, partitions, ...configOf(values) });
    await out(
      values.json ? `${JSON.stringify(created)}\n` : `Created topic ${name} with ${partitions} partitions\n`,
    );
  } catch (error) {
    if (!(values['if-not-exists'] && (error as { status?: number }).status === 409)) throw error;
    if (values.json) await out(`${JSON.stringify(await admin.describeTopic(name))}\n`);
    else await out(`Topic ${name} exists already\n`);
  }
  return 0;
}

async function listTopics({ admin, values, out }: TopicsRun): Promise<number> {
  const topics = await admin.listTopics();
  if (values.json) {
    await out(`${JSON.stringify({ topics })}\n`);
  } else {
    await out(
      renderTable(
        ['TOPIC', 'PARTITIONS', 'RETENTION_MS', 'CREATED'],
        topics.map((t) => [t.name, t.partitionCount, t.config.retentionMs, t.createdAt]),
      ),
    );
  }
  return 0;
}

async function describeTopic({ admin, values, out, topic }: TopicsRun): Promise<number> {
  const description = await admin.describeTopic(topic());
  if (values.json) {
    await out(`${JSON.stringify(description)}\n`);
    return 0;
  }
  await out(
    `Topic ${description.name}  partitions ${description.partitionCount}  created ${description.createdAt}\n` +
      `Config ${configText(description.config)}\n\n`,
  );
  await out(
    renderTable(
      ['PARTITION', 'LOG_START_OFFSET', 'HIGH_WATERMARK', 'ARCHIVED_OFFSET', 'RECORDS'],
      description.partitions.map((p) => [
        p.partition,
        p.logStartOffset,
        p.highWatermark,
        p.archivedOffset,
        p.highWatermark - p.logStartOffset,
      ]),
    ),
  );
  return 0;
}

async function alterTopic({ admin, values, out, topic }: TopicsRun): Promise<number> {
  const name = topic();
  const partitions = values.partitions;
  const config = configOf(values);
  if (partitions === undefined && Object.keys(config).length === 0) {
    throw new UsageError('topics alter needs --partitions <n> or --config <name>=<value>');
  }
  const altered = await admin.alterTopic(name, {
    ...(partitions === undefined ? {} : { partitions: wholeNumber('--partitions', partitions) }),
    ...config,
  });
  await out(
    values.json
      ? `${JSON.stringify(altered)}\n`
      : `Topic ${name}: ${altered.partitionCount} partitions, ${configText(altered.config)}\n`,
  );
  return 0;
}

async function deleteTopic({ admin, values, out, topic }: TopicsRun): Promise<number> {
  const name = topic();
  await admin.deleteTopic(name);
  await out(values.json ? `${JSON.stringify({ deleted: name })}\n` : `Deleted topic ${name}\n`);
  return 0;
}

/** A whole number from 0, or a usage error naming the option. */
export function wholeNumber(option: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`${option} takes a whole number, got '${text}'`);
  return Number(text);
}

/** An integer, negative too (`--retention-ms -1`). */
export function integer(option: string, text: string): number {
  if (!/^-?\d{1,15}$/.test(text)) throw new UsageError(`${option} takes an integer, got '${text}'`);
  return Number(text);
}

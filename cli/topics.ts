/** `shoal topics create|list|describe|alter|delete`, as Kafka's `kafka-topics`. */
import { type CliEnvironment, clientFrom, parseCommand, UsageError, write } from './context.js';
import { renderTable } from './format.js';

export const TOPICS_HELP = `Usage: shoal topics <command> [options]

Commands:
  create <topic> --partitions <n> [--retention-ms <ms>] [--if-not-exists]
  list
  describe <topic>
  alter <topic> [--partitions <n>] [--retention-ms <ms>]
  delete <topic>

Options:
  --json     print the API's JSON instead of a table
  --url <u>  the API (default $SHOAL_URL or http://127.0.0.1:8092)
`;

const OPTIONS = {
  partitions: { type: 'string', short: 'p' },
  'retention-ms': { type: 'string' },
  'if-not-exists': { type: 'boolean' },
} as const;

export async function topicsCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  const [command, topic, ...extra] = positionals;
  if (values.help || command === undefined) {
    await write(io.stdout, TOPICS_HELP);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const admin = clientFrom(values, io.env).admin();
  const out = (text: string) => write(io.stdout, text);
  const requireTopic = () => {
    if (topic === undefined) throw new UsageError(`topics ${command} needs a topic name`);
    return topic;
  };
  switch (command) {
    case 'create': {
      const name = requireTopic();
      if (values.partitions === undefined) throw new UsageError('topics create needs --partitions <n>');
      const partitions = wholeNumber('--partitions', values.partitions);
      const retention = values['retention-ms'];
      try {
        const created = await admin.createTopic({
          name,
          partitions,
          ...(retention === undefined ? {} : { retentionMs: integer('--retention-ms', retention) }),
        });
        await out(
          values.json
            ? `${JSON.stringify(created)}\n`
            : `Created topic ${name} with ${partitions} partitions\n`,
        );
      } catch (error) {
        if (!(values['if-not-exists'] && (error as { status?: number }).status === 409)) throw error;
        if (values.json) await out(`${JSON.stringify(await admin.describeTopic(name))}\n`);
        else await out(`Topic ${name} exists already\n`);
      }
      return 0;
    }
    case 'list': {
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
    case 'describe': {
      const description = await admin.describeTopic(requireTopic());
      if (values.json) {
        await out(`${JSON.stringify(description)}\n`);
        return 0;
      }
      await out(
        `Topic ${description.name}  partitions ${description.partitionCount}  retention.ms ${description.config.retentionMs}  created ${description.createdAt}\n`,
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
    case 'alter': {
      const name = requireTopic();
      const partitions = values.partitions;
      const retention = values['retention-ms'];
      if (partitions === undefined && retention === undefined) {
        throw new UsageError('topics alter needs --partitions <n> or --retention-ms <ms>');
      }
      const altered = await admin.alterTopic(name, {
        ...(partitions === undefined ? {} : { partitions: wholeNumber('--partitions', partitions) }),
        ...(retention === undefined ? {} : { retentionMs: integer('--retention-ms', retention) }),
      });
      await out(
        values.json
          ? `${JSON.stringify(altered)}\n`
          : `Topic ${name}: ${altered.partitionCount} partitions, retention.ms ${altered.config.retentionMs}\n`,
      );
      return 0;
    }
    case 'delete': {
      const name = requireTopic();
      await admin.deleteTopic(name);
      await out(values.json ? `${JSON.stringify({ deleted: name })}\n` : `Deleted topic ${name}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command 'topics ${command}'`);
  }
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

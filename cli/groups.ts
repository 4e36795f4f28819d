/** `shoal groups list|describe|lag|reset-offsets|delete`, as Kafka's `kafka-consumer-groups`. */
import type { Admin, ResetTo } from '../client/index.js';
import { type CliEnvironment, clientFrom, parseCommand, UsageError, write } from './context.js';
import { renderTable } from './format.js';
import { wholeNumber } from './topics.js';

export const GROUPS_HELP = `Usage: shoal groups <command> [options]

Commands:
  list
  describe <group>        state, generation, members and their partitions, offsets and lag
  lag <group>             committed offset, high watermark and lag per partition, and the total
  reset-offsets <group> --topic <t> (--to-earliest | --to-latest | --to-offset <n> | --to-datetime <t>)
                          [--partitions 0,1,...]   (only while the group has no live members)
  delete <group>          (only while the group has no live members)

Options:
  --json     print JSON instead of a table
  --url <u>  the API (default $SHOAL_URL or http://127.0.0.1:8092)
`;

const OPTIONS = {
  topic: { type: 'string', short: 't' },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-offset': { type: 'string' },
  'to-datetime': { type: 'string' },
  partitions: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** What each `groups` command runs with: the admin client, the options, stdout and the group name. */
interface GroupsRun {
  readonly admin: Admin;
  readonly values: Values;
  readonly out: (text: string) => Promise<void>;
  /** The group named on the command line, or a usage error. */
  readonly group: () => string;
}

/** Runs `shoal groups <command>`; exit code 0, or 2 after the help when no command is given. */
export async function groupsCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  const [command, group, ...extra] = positionals;
  if (values.help || command === undefined) {
    await write(io.stdout, GROUPS_HELP);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const run: GroupsRun = {
    admin: clientFrom(values, io.env).admin(),
    values,
    out: (text: string) => write(io.stdout, text),
    group: () => {
      if (group === undefined) throw new UsageError(`groups ${command} needs a group name`);
      return group;
    },
  };
  switch (command) {
    case 'list':
      return listGroups(run);
    case 'describe':
      return describeGroup(run);
    case 'lag':
      return groupLag(run);
    case 'reset-offsets':
      return resetOffsets(run);
    case 'delete':
      return deleteGroup(run);
    default:
      throw new UsageError(`unknown command 'groups ${command}'`);
  }
}

async function listGroups({ admin, values, out }: GroupsRun): Promise<number> {
  const groups = await admin.listGroups();
  await out(
    values.json
      ? `${JSON.stringify({ groups })}\n`
      : renderTable(
          ['GROUP', 'CREATED'],
          groups.map((g) => [g.group, g.createdAt]),
        ),
  );
  return 0;
}

async function describeGroup({ admin, values, out, group }: GroupsRun): Promise<number> {
  const description = await admin.describeGroup(group());
  if (values.json) {
    await out(`${JSON.stringify(description)}\n`);
    return 0;
  }
  const owner = new Map<string, string>();
  for (const member of description.members) {
    for (const { topic, partition } of member.assignments)
      owner.set(`${topic}\u0000${partition}`, member.memberId);
  }
  await out(
    `Group ${description.group}  state ${description.state}  generation ${description.generation}  members ${description.members.length}\n\n`,
  );
  await out(
    renderTable(
      ['TOPIC', 'PARTITION', 'COMMITTED_OFFSET', 'HIGH_WATERMARK', 'LAG', 'MEMBER'],
      description.offsets.map((o) => [
        o.topic,
        o.partition,
        o.committedOffset,
        o.highWatermark,
        o.lag,
        owner.get(`${o.topic}\u0000${o.partition}`) ?? null,
      ]),
    ),
  );
  if (description.members.length > 0) {
    await out(
      `\n${renderTable(
        ['MEMBER', 'TOPICS', 'PARTITIONS', 'LAST_HEARTBEAT'],
        description.members.map((m) => [
          m.memberId,
          m.topics.join(','),
          m.assignments.map((a) => `${a.topic}-${a.partition}`).join(',') || null,
          m.lastHeartbeat,
        ]),
      )}`,
    );
  }
  return 0;
}

async function groupLag({ admin, values, out, group }: GroupsRun): Promise<number> {
  const lag = await admin.groupLag(group());
  if (values.json) {
    await out(`${JSON.stringify(lag)}\n`);
    return 0;
  }
  await out(
    renderTable(
      ['TOPIC', 'PARTITION', 'COMMITTED_OFFSET', 'HIGH_WATERMARK', 'LAG'],
      lag.partitions.map((o) => [o.topic, o.partition, o.committedOffset, o.highWatermark, o.lag]),
    ),
  );
  const unknown =
    lag.uncommittedPartitions > 0 ? ` (${lag.uncommittedPartitions} partitions never committed)` : '';
  await out(`Total lag ${lag.totalLag}${unknown}\n`);
  return 0;
}

async function resetOffsets({ admin, values, out, group }: GroupsRun): Promise<number> {
  const name = group();
  if (values.topic === undefined) throw new UsageError('groups reset-offsets needs --topic <topic>');
  const to = resetTarget(values);
  const partitions =
    values.partitions === undefined
      ? undefined
      : values.partitions.split(',').map((text) => wholeNumber('--partitions', text.trim()));
  const answer = await admin.resetOffsets({
    groupId: name,
    topic: values.topic,
    to,
    ...(partitions ? { partitions } : {}),
  });
  await out(
    values.json
      ? `${JSON.stringify(answer)}\n`
      : renderTable(
          ['TOPIC', 'PARTITION', 'NEW_OFFSET'],
          answer.offsets.map((o) => [o.topic, o.partition, o.offset]),
        ),
  );
  return 0;
}

async function deleteGroup({ admin, values, out, group }: GroupsRun): Promise<number> {
  const name = group();
  await admin.deleteGroup(name);
  await out(values.json ? `${JSON.stringify({ deleted: name })}\n` : `Deleted group ${name}\n`);
  return 0;
}

function resetTarget(values: {
  'to-earliest'?: boolean;
  'to-latest'?: boolean;
  'to-offset'?: string;
  'to-datetime'?: string;
}): ResetTo {
  const given = [
    values['to-earliest'],
    values['to-latest'],
    values['to-offset'],
    values['to-datetime'],
  ].filter((value) => value !== undefined);
  if (given.length !== 1) {
    throw new UsageError('give one of --to-earliest, --to-latest, --to-offset <n> and --to-datetime <t>');
  }
  if (values['to-earliest']) return 'earliest';
  if (values['to-latest']) return 'latest';
  if (values['to-offset'] !== undefined) return { offset: wholeNumber('--to-offset', values['to-offset']) };
  const text = values['to-datetime'] as string;
  if (/^\d{1,15}$/.test(text)) return { timestamp: Number(text) };
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new UsageError(`--to-datetime takes ISO-8601 or epoch ms, got '${text}'`);
  return { timestamp: parsed };
}

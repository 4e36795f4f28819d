/**
 * `shoal subscriptions create|list|describe|delete`: Lambda functions bound to topics, as
 * `aws lambda create-event-source-mapping` does for Kafka. On the local stack a module file stands
 * in for the function.
 */
import { resolve } from 'node:path';
import type { Admin, CreateSubscriptionInput } from '../client/index.js';
import { type CliEnvironment, clientFrom, parseCommand, UsageError, write } from './context.js';
import { renderTable } from './format.js';
import { integer, wholeNumber } from './topics.js';

export const SUBSCRIPTIONS_HELP = `Usage: shoal subscriptions <command> [options]

Commands:
  create <name> --topic <topic> (--function-arn <arn> | --module <file> [--handler <export>])
                [--starting-position trim-horizon|latest|at-timestamp] [--starting-timestamp <t>]
                [--batch-size <n>] [--batching-window-ms <n>] [--retry-attempts <n>]
                [--max-record-age-ms <n>] [--bisect-batch-on-error] [--report-batch-item-failures]
                [--dead-letter-topic <topic>] [--output-topic <topic>] [--filter <pattern>]...
                [--group <group>] [--disabled]
  list
  describe <name>     settings, and per partition lag, deliveries, errors, retries, dead letters
  delete <name>

--function-arn binds a Lambda function (AWS); --module binds a .js/.mjs/.ts file's export (the
local stack only; a relative path is resolved from the current folder). With --output-topic, the
records the function returns ({"records": [...]}) are appended to that topic exactly once, in one
transaction with the commit of the batch.

Options:
  --json     print the API's JSON instead of a table
  --url <u>  the API (default $SHOAL_URL or http://127.0.0.1:8092)
`;

const OPTIONS = {
  topic: { type: 'string', short: 't' },
  'function-arn': { type: 'string' },
  module: { type: 'string' },
  handler: { type: 'string' },
  'handler-timeout-ms': { type: 'string' },
  'starting-position': { type: 'string' },
  'starting-timestamp': { type: 'string' },
  'batch-size': { type: 'string' },
  'batching-window-ms': { type: 'string' },
  'retry-attempts': { type: 'string' },
  'max-record-age-ms': { type: 'string' },
  'bisect-batch-on-error': { type: 'boolean' },
  'report-batch-item-failures': { type: 'boolean' },
  'dead-letter-topic': { type: 'string' },
  'output-topic': { type: 'string' },
  filter: { type: 'string', multiple: true },
  group: { type: 'string', short: 'G' },
  disabled: { type: 'boolean' },
} as const;

const STARTING_POSITIONS = {
  'trim-horizon': 'TRIM_HORIZON',
  latest: 'LATEST',
  'at-timestamp': 'AT_TIMESTAMP',
} as const;

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** What each `subscriptions` command runs with: the admin client, the options, stdout and the name. */
interface SubscriptionsRun {
  readonly admin: Admin;
  readonly values: Values;
  readonly out: (text: string) => Promise<void>;
  /** The subscription named on the command line, or a usage error. */
  readonly name: () => string;
}

/** Runs `shoal subscriptions <command>`; exit code 0, or 2 after the help when no command is given. */
export async function subscriptionsCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseCommand(args, OPTIONS);
  const [command, name, ...extra] = positionals;
  if (values.help || command === undefined) {
    await write(io.stdout, SUBSCRIPTIONS_HELP);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const run: SubscriptionsRun = {
    admin: clientFrom(values, io.env).admin(),
    values,
    out: (text: string) => write(io.stdout, text),
    name: () => {
      if (name === undefined) throw new UsageError(`subscriptions ${command} needs a subscription name`);
      return name;
    },
  };
  switch (command) {
    case 'create':
      return createSubscription(run);
    case 'list':
      return listSubscriptions(run);
    case 'describe':
      return describeSubscription(run);
    case 'delete':
      return deleteSubscription(run);
    default:
      throw new UsageError(`unknown command 'subscriptions ${command}'`);
  }
}

async function createSubscription({ admin, values, out, name }: SubscriptionsRun): Promise<number> {
  const created = await admin.createSubscription(createInput(name(), values));
  await out(
    values.json
      ? `${JSON.stringify(created)}\n`
      : `Created subscription ${created.name}: ${created.topic} -> ${targetText(created.target)} (group ${created.consumerGroupId})\n`,
  );
  return 0;
}

async function listSubscriptions({ admin, values, out }: SubscriptionsRun): Promise<number> {
  const subscriptions = await admin.listSubscriptions();
  await out(
    values.json
      ? `${JSON.stringify({ subscriptions })}\n`
      : renderTable(
          ['SUBSCRIPTION', 'TOPIC', 'TARGET', 'STATE', 'GROUP'],
          subscriptions.map((s) => [s.name, s.topic, targetText(s.target), s.state, s.consumerGroupId]),
        ),
  );
  return 0;
}

async function describeSubscription({ admin, values, out, name }: SubscriptionsRun): Promise<number> {
  const description = await admin.describeSubscription(name());
  if (values.json) {
    await out(`${JSON.stringify(description)}\n`);
    return 0;
  }
  const totals = description.totals;
  await out(
    `Subscription ${description.name}  ${description.state}  ${description.topic} -> ${targetText(description.target)}  group ${description.consumerGroupId}\n` +
      `Lag ${totals.lag}  delivered ${totals.delivered}  invocations ${totals.invocations}  errors ${totals.errors}  dead-lettered ${totals.deadLettered}  filtered ${totals.filtered}\n\n`,
  );
  await out(
    renderTable(
      [
        'PARTITION',
        'COMMITTED_OFFSET',
        'HIGH_WATERMARK',
        'LAG',
        'DELIVERED',
        'ERRORS',
        'DEAD_LETTERED',
        'LAST_ERROR',
      ],
      description.partitions.map((p) => [
        p.partition,
        p.committedOffset,
        p.highWatermark,
        p.lag,
        p.delivered,
        p.errors,
        p.deadLettered,
        p.lastError ? `offset ${p.lastError.offset}: ${p.lastError.message.replace(/\s+/g, ' ')}` : null,
      ]),
    ),
  );
  return 0;
}

async function deleteSubscription({ admin, values, out, name }: SubscriptionsRun): Promise<number> {
  const deleted = name();
  await admin.deleteSubscription(deleted);
  await out(values.json ? `${JSON.stringify({ deleted })}\n` : `Deleted subscription ${deleted}\n`);
  return 0;
}

function createInput(name: string, values: Values): CreateSubscriptionInput {
  if (values.topic === undefined) throw new UsageError('subscriptions create needs --topic <topic>');
  const functionArn = values['function-arn'];
  const module = values.module;
  if ((functionArn === undefined) === (module === undefined)) {
    throw new UsageError(
      'subscriptions create needs --function-arn <arn> (AWS) or --module <file> (local stack)',
    );
  }
  const target =
    functionArn !== undefined
      ? { functionArn }
      : {
          module: resolve(module as string),
          ...(values.handler === undefined ? {} : { handler: values.handler }),
          ...(values['handler-timeout-ms'] === undefined
            ? {}
            : { timeoutMs: wholeNumber('--handler-timeout-ms', values['handler-timeout-ms']) }),
        };
  const position = values['starting-position'];
  const startingPosition =
    position === undefined ? undefined : STARTING_POSITIONS[position as keyof typeof STARTING_POSITIONS];
  if (position !== undefined && startingPosition === undefined) {
    throw new UsageError(`--starting-position is trim-horizon, latest or at-timestamp, got '${position}'`);
  }
  const number = (option: keyof Values, parse: (option: string, text: string) => number) => {
    const text = values[option];
    return typeof text === 'string' ? parse(`--${option}`, text) : undefined;
  };
  const timestamp = values['starting-timestamp'];
  const input: Record<string, unknown> = {
    name,
    topic: values.topic,
    target,
    startingPosition,
    startingPositionTimestamp:
      timestamp === undefined ? undefined : /^\d{1,15}$/.test(timestamp) ? Number(timestamp) : timestamp,
    batchSize: number('batch-size', wholeNumber),
    maxBatchingWindowMs: number('batching-window-ms', wholeNumber),
    retryAttempts: number('retry-attempts', integer),
    maxRecordAgeMs: number('max-record-age-ms', integer),
    bisectBatchOnError: values['bisect-batch-on-error'],
    reportBatchItemFailures: values['report-batch-item-failures'],
    onFailure: values['dead-letter-topic'] === undefined ? undefined : { topic: values['dead-letter-topic'] },
    outputTopic: values['output-topic'],
    filters: values.filter?.map((pattern) => ({ pattern })),
    consumerGroupId: values.group,
    enabled: values.disabled ? false : undefined,
  };
  return Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined),
  ) as unknown as CreateSubscriptionInput;
}

function targetText(target: { functionArn: string } | { module: string; handler: string }): string {
  return 'functionArn' in target ? target.functionArn : `${target.module}#${target.handler}`;
}

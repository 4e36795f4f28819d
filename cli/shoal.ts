/**
 * `shoal`: the command line for a Shoal log, in the spirit of kcat and Kafka's console tools.
 *
 * Data goes to stdout (records, JSON), everything for people to stderr (progress, summaries,
 * errors). An error is one line on stderr and a non-zero exit: 1 when the command failed, 2 for a
 * mistake in the command line.
 *
 * @example
 * shoal topics create orders --partitions 6
 * printf 'order-1:{"total":12}\n' | shoal produce orders --key-separator ':' --value-format json
 * shoal consume orders --group billing --from-beginning --count 1 --format json
 * shoal groups describe billing --json
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ShoalApiError, ShoalClientStateError, ShoalConnectionError } from '../client/index.js';
import { consumeCommand } from './consume.js';
import {
  type CliEnvironment,
  clientFrom,
  GLOBAL_OPTIONS,
  parseCommand,
  UsageError,
  write,
} from './context.js';
import { LineError } from './format.js';
import { groupsCommand } from './groups.js';
import { pipeCommand } from './pipe.js';
import { produceCommand } from './produce.js';
import { subscriptionsCommand } from './subscriptions.js';
import { topicsCommand } from './topics.js';

const HELP = `Usage: shoal [options] <command> [options]

Commands:
  topics create|list|describe|alter|delete   manage topics
  produce <topic>                            append lines from stdin or a file as records
  consume <topic>                            print records, by group or by partition
  pipe <from> <to> --group <g>               copy records between topics exactly once
  groups list|describe|lag|reset-offsets|delete
                                             manage consumer groups
  subscriptions create|list|describe|delete  bind Lambda functions to topics
  health                                     check that the API answers
  bench [--quick] [--out <file>]             run the benchmark (bench/run.ts)

Options for every command (before or after it):
  --url <url>            the API (default $SHOAL_URL, else the local stack http://127.0.0.1:8092)
  --header 'Name: value' send a header with every request (repeatable)
  --auth iam|none        SigV4 signing (default: iam for *.amazonaws.com, none elsewhere)
  --region <region>      the API's region for signing (default: from the host name or AWS_REGION)
  --json                 machine-readable output on read commands
  -q, --quiet            no progress or summaries on stderr
  -h, --help             help for a command: shoal <command> --help
`;

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[], io: CliEnvironment): Promise<number> {
  let command: string | undefined;
  let rest: string[];
  try {
    ({ command, rest } = splitCommand(argv));
  } catch (error) {
    await write(io.stderr, `shoal: ${describeError(error, undefined)}\n`);
    return 2;
  }
  try {
    switch (command) {
      case undefined:
        await write(io.stderr, HELP);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        await write(io.stdout, HELP);
        return 0;
      case '--version':
      case 'version':
        await write(io.stdout, `${packageVersion()}\n`);
        return 0;
      case 'topics':
      case 'topic':
        return await topicsCommand(rest, io);
      case 'produce':
        return await produceCommand(rest, io);
      case 'consume':
        return await consumeCommand(rest, io);
      case 'pipe':
        return await pipeCommand(rest, io);
      case 'groups':
      case 'group':
        return await groupsCommand(rest, io);
      case 'subscriptions':
      case 'subscription':
        return await subscriptionsCommand(rest, io);
      case 'health':
        return await healthCommand(rest, io);
      case 'bench':
        return await benchCommand(rest, io);
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    await write(io.stderr, `shoal: ${describeError(error, command)}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/**
 * The command and its arguments, with global options given before the command moved after it
 * (`shoal --url URL topics list` as git and kubectl take it): each command parses them itself.
 */
export function splitCommand(argv: readonly string[]): { command: string | undefined; rest: string[] } {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] as string;
    const name = arg.startsWith('--') ? (arg.split('=', 1)[0] as string) : arg;
    const option = Object.entries(GLOBAL_OPTIONS).find(
      ([long, config]) => `--${long}` === name || ('short' in config && `-${config.short}` === name),
    );
    if (!option || option[0] === 'help') break;
    leading.push(arg);
    index++;
    if (option[1].type === 'string' && !arg.includes('=')) {
      const value = argv[index];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      leading.push(value);
      index++;
    }
  }
  const [command, ...rest] = argv.slice(index);
  return { command, rest: [...leading, ...rest] };
}

/** The one line printed for an error. */
export function describeError(error: unknown, command: string | undefined): string {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  if (error instanceof UsageError) {
    const help =
      command === undefined || command.startsWith('-') ? 'shoal --help' : `shoal ${command} --help`;
    return `${oneLine(error.message)} (see '${help}')`;
  }
  if (error instanceof ShoalConnectionError) {
    const local = /\/\/(127\.0\.0\.1|localhost)[:/]/.test(error.message);
    return `${oneLine(error.message)}${local ? '; is the local stack running (npm start)?' : ''}`;
  }
  if (
    error instanceof ShoalApiError ||
    error instanceof ShoalClientStateError ||
    error instanceof LineError
  ) {
    return oneLine(error.message);
  }
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

async function healthCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const { values } = parseCommand(args, {});
  const shoal = clientFrom(values, io.env);
  const startedAt = performance.now();
  const health = await shoal.api.health();
  const elapsedMs = Math.round(performance.now() - startedAt);
  await write(
    io.stdout,
    values.json ? `${JSON.stringify({ ...health, elapsedMs })}\n` : `${health.status} (${elapsedMs} ms)\n`,
  );
  return 0;
}

/**
 * Runs the benchmark (`bench/run.ts`) with the remaining arguments. `--url` becomes `SHOAL_URL`,
 * which points it at a running stack instead of the one it starts itself.
 */
async function benchCommand(args: readonly string[], io: CliEnvironment): Promise<number> {
  const script = fileURLToPath(new URL('../bench/run.ts', import.meta.url));
  if (!existsSync(script)) throw new ShoalClientStateError(`the benchmark is not here: ${script}`);
  const passed: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--url') {
      url = args[++i];
      if (url === undefined) throw new UsageError('--url needs a value');
    } else if (arg.startsWith('--url=')) {
      url = arg.slice('--url='.length);
    } else {
      passed.push(arg);
    }
  }
  // One Node process with tsx's loader, not tsx's CLI: the CLI relays a signal to its child and
  // kills it outright when the child does not answer within 30 ms, which a loaded machine misses.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, ...passed], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...io.env, ...(url === undefined ? {} : { SHOAL_URL: url }) },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

function packageVersion(): string {
  const file = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

// A reader that goes away (`shoal consume ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
// Exit once stdout is written, even if a timer or socket would keep the process alive.
process.stdout.write('', () => process.exit(code));

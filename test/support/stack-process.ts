/**
 * `npm start` as a child process, for tests that crash it: `node --import tsx local/start.ts` (one
 * Node process, as `npm start` runs it) in its own process group (so one SIGKILL reaches it and the
 * DynamoDB Local it started, as a terminal's kill of the job would), with its own data folder and
 * port. Every signal goes to a recorded, positive pid only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import type { ChildExit } from '../../local/stack.js';
import { ENV } from '../../shared/config.js';

/** A running (or ended) `node --import tsx local/start.ts`. */
export interface StackProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Pid of the Node process, which leads the process group. */
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` to the whole group (the Node process running the stack and its children). */
  signalGroup(signal: NodeJS.Signals): void;
}

/** Options of {@link spawnStack}. */
export interface StackProcessOptions {
  readonly dataDir: string;
  readonly port: number;
  /** Bound on the wait for the ready line (or an exit). */
  readonly readyWaitMsMax: number;
}

/** Collects what a child process writes to its stdout and stderr pipes, as text so far. */
export function captureOutput(child: ChildProcess): { stdout(): string; stderr(): string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

/**
 * Spawns the stack and resolves once it printed its ready line or exited (a refused start resolves
 * too: look at `exited`).
 */
export async function spawnStack(options: StackProcessOptions): Promise<StackProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    env: { ...process.env, [ENV.dataDir]: options.dataDir, [ENV.port]: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = requirePid(child.pid);
  const { stdout, stderr } = captureOutput(child);
  let ended = false;
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    }),
  );
  const deadline = Date.now() + options.readyWaitMsMax;
  while (!stdout().includes('Shoal is running') && !ended) {
    if (Date.now() >= deadline) {
      signalGroup(pid, 'SIGKILL');
      throw new Error(`the stack did not start within ${options.readyWaitMsMax} ms: ${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${options.port}`,
    pid,
    exited,
    stdout,
    stderr,
    signalGroup: (signal) => {
      if (!ended) signalGroup(pid, signal);
    },
  };
}

/** Throws unless `pid` is a positive integer: 0 and negative pids signal whole process groups. */
export function requirePid(pid: number | undefined): number {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) throw new Error(`refusing pid ${pid}`);
  return pid;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-requirePid(pid), signal);
  } catch {
    // The group is gone.
  }
}

/**
 * Pids of the Java processes running DynamoDB Local on `<dataDir>/dynamodb` (Linux `/proc`; not the
 * shell that launched them, whose arguments name the jar too).
 */
export async function dynamoDbLocalPids(dataDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[1-9]\d*$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const dbPathAt = args.indexOf('-dbPath');
    if (/(^|\/)java$/.test(args[0] ?? '') && args[dbPathAt + 1] === join(dataDir, 'dynamodb')) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

/** True when `pid` names a process that has not ended (a zombie has ended). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${requirePid(pid)}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * One stack per data folder: two DynamoDB Locals on one database file each keep their own idea of
 * what is committed, so acknowledged writes go missing. The lock names the stack's Node process by
 * its pid and its start time, so a pid that now belongs to another process does not hold the folder.
 */
import { execFile } from 'node:child_process';
import { link, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A process, told apart from a later one that reuses its pid by when it started. */
export interface ProcessStamp {
  readonly pid: number;
  /** Start time as the system reports it; undefined when it cannot tell (only liveness is checked). */
  readonly startedAt: string | undefined;
}

/** What the lock holder is told: the folder is used by a running stack. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly owner: ProcessStamp,
  ) {
    super(`${dataDir} is used by another Shoal stack (pid ${owner.pid})`);
  }
}

/** Bound on the wait for a DynamoDB Local left behind to exit after SIGTERM, and again after SIGKILL. */
const ORPHAN_STOP_WAIT_MS_MAX = 5_000;
const ORPHAN_POLL_MS = 50;

/**
 * Takes `<dataDir>/.lock` and resolves with its release. A lock whose process is gone, or whose pid
 * now belongs to a process that started at another time, is taken over.
 *
 * The lock file appears complete or not at all (written aside, then hard-linked into place), so a
 * stack starting at the same moment never reads a half-written lock as stale.
 *
 * @throws DataDirInUseError when the stack that holds it still runs.
 * @example
 * const release = await lockDataDir('.shoal');
 * await release();
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, '.lock');
  const self: ProcessStamp = { pid: process.pid, startedAt: await processStartTime(process.pid) };
  const draftPath = join(dataDir, `.lock.${process.pid}`);
  await writeFile(draftPath, `${JSON.stringify(self)}\n`);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await link(draftPath, lockPath);
        return () => rm(lockPath, { force: true });
      } catch (error) {
        if (!hasCode(error, 'EEXIST') || attempt >= 2) throw error;
      }
      const owner = parseLock(await readFile(lockPath, 'utf8').catch(() => ''));
      if (owner !== undefined && (await isStillRunning(owner))) throw new DataDirInUseError(dataDir, owner);
      await rm(lockPath, { force: true });
    }
  } finally {
    await rm(draftPath, { force: true });
  }
}

/**
 * Reads a lock: JSON `{"pid":…,"startedAt":…}`, or a bare pid as written by earlier versions.
 * Undefined when it names no process (empty, garbled, or a pid that is not positive).
 */
export function parseLock(text: string): ProcessStamp | undefined {
  const trimmed = text.trim();
  if (/^[1-9]\d*$/.test(trimmed)) return { pid: Number(trimmed), startedAt: undefined };
  try {
    const parsed = JSON.parse(trimmed) as { pid?: unknown; startedAt?: unknown };
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      pid: parsed.pid,
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * True when the stamped process runs and is the same process: same start time when both are known.
 * A lock naming this very process's pid with another start time is stale too (a container restarted
 * after a crash hands out the same pids again).
 */
async function isStillRunning(owner: ProcessStamp): Promise<boolean> {
  const startedAt = await processStartTime(owner.pid);
  if (startedAt === undefined) return false;
  return owner.startedAt === undefined || startedAt === UNKNOWN_START || startedAt === owner.startedAt;
}

/** Start time of a process that runs but whose start time the system does not tell. */
const UNKNOWN_START = 'unknown';

/**
 * When `pid` started: field 22 of `/proc/<pid>/stat` (clock ticks since boot) on Linux, `ps -o lstart`
 * elsewhere, `'unknown'` when it runs but neither is available. Undefined when it does not run
 * (a zombie counts as gone).
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return undefined;
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  }
  return new Promise((resolvePromise) => {
    execFile('ps', ['-o', 'lstart=', '-p', String(pid)], (error, stdout) => {
      if (error === null) resolvePromise(stdout.trim() || undefined);
      else if (hasCode(error, 'ENOENT')) resolvePromise(isSignalable(pid) ? UNKNOWN_START : undefined);
      else resolvePromise(undefined);
    });
  });
}

/**
 * Stops every DynamoDB Local whose command line names `dbPath` as its database folder (Linux only:
 * elsewhere it finds none). Call it holding the folder's lock: any such process then belongs to a
 * stack that is gone (one killed before DynamoDB Local was tied to its parent, or an older
 * version), and keeping it would put two DynamoDB Locals on one database file. Each is asked to
 * stop (SIGTERM), then killed after 5 s.
 *
 * @returns the pids stopped.
 */
export async function stopOrphanedDynamoDbLocals(dbPath: string): Promise<number[]> {
  const stopped: number[] = [];
  for (const pid of await findDynamoDbLocals(dbPath)) {
    const startedAt = await processStartTime(pid);
    if (startedAt === undefined) continue;
    const stamp = { pid, startedAt };
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      // Checked again right before the signal, so a pid reused since the scan is left alone.
      if (!(await isDynamoDbLocalOn(pid, dbPath)) || (await processStartTime(pid)) !== startedAt) break;
      process.kill(pid, signal);
      if (await exitsWithin(stamp, ORPHAN_STOP_WAIT_MS_MAX)) break;
    }
    stopped.push(pid);
  }
  return stopped;
}

/** Pids of the DynamoDB Local processes on `dbPath` (Linux; an empty list elsewhere). Always positive. */
export async function findDynamoDbLocals(dbPath: string): Promise<number[]> {
  if (process.platform !== 'linux') return [];
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[1-9]\d*$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid !== process.pid && (await isDynamoDbLocalOn(pid, dbPath))) pids.push(pid);
  }
  return pids;
}

async function isDynamoDbLocalOn(pid: number, dbPath: string): Promise<boolean> {
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const args = commandLine.split('\0');
  // Java itself: the shell that ties it to its stack carries the same arguments.
  const isJava = /(^|\/)java$/.test(args[0] ?? '');
  const dbPathAt = args.indexOf('-dbPath');
  return (
    isJava &&
    args.some((arg) => arg.endsWith('DynamoDBLocal.jar')) &&
    dbPathAt >= 0 &&
    args[dbPathAt + 1] === dbPath
  );
}

async function exitsWithin(stamp: ProcessStamp, waitMsMax: number): Promise<boolean> {
  const deadline = Date.now() + waitMsMax;
  for (;;) {
    if ((await processStartTime(stamp.pid)) !== stamp.startedAt) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, ORPHAN_POLL_MS));
  }
}

function isSignalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return hasCode(error, 'EPERM');
  }
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir, parseLock, processStartTime } from '../../local/data-dir-lock.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shoal-lock-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const lockPath = () => join(dataDir, '.lock');

describe('the data folder lock', () => {
  it('records the pid and start time of the process that holds it, and is gone once released', async () => {
    const release = await lockDataDir(dataDir);
    const held = parseLock(await readFile(lockPath(), 'utf8'));
    await release();

    expect(held).toEqual({ pid: process.pid, startedAt: await processStartTime(process.pid) });
    await expect(readFile(lockPath(), 'utf8')).rejects.toThrow();
  });

  it('fails when the process named by the lock runs and started when the lock says', async () => {
    const owner = { pid: process.ppid, startedAt: await processStartTime(process.ppid) };
    await writeFile(lockPath(), JSON.stringify(owner));

    const error = await lockDataDir(dataDir).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DataDirInUseError);
    expect((error as Error).message).toBe(`${dataDir} is used by another Shoal stack (pid ${process.ppid})`);
  });

  it('takes over a lock whose pid now belongs to a process that started at another time', async () => {
    await writeFile(lockPath(), JSON.stringify({ pid: process.ppid, startedAt: '1' }));

    const release = await lockDataDir(dataDir);
    const held = parseLock(await readFile(lockPath(), 'utf8'));
    await release();

    expect(held?.pid).toBe(process.pid);
  });

  it('takes over a lock naming this very process with another start time (pids reused after a restart)', async () => {
    await writeFile(lockPath(), JSON.stringify({ pid: process.pid, startedAt: '1' }));

    const release = await lockDataDir(dataDir);
    await release();
  });

  it('takes over a lock that names no process', async () => {
    await writeFile(lockPath(), '{"pid":-1}');

    const release = await lockDataDir(dataDir);
    await release();
  });

  it('fails for a bare pid of a running process (the format of earlier versions, trusted as before)', async () => {
    await writeFile(lockPath(), String(process.ppid));

    await expect(lockDataDir(dataDir)).rejects.toBeInstanceOf(DataDirInUseError);
  });
});

describe('parseLock', () => {
  it('reads the JSON stamp and the bare pid of earlier versions', () => {
    expect(parseLock('{"pid":42,"startedAt":"9001"}\n')).toEqual({ pid: 42, startedAt: '9001' });
    expect(parseLock('42\n')).toEqual({ pid: 42, startedAt: undefined });
  });

  it('names no process for an empty, garbled or non-positive lock', () => {
    expect(parseLock('')).toBeUndefined();
    expect(parseLock('{"pid":')).toBeUndefined();
    expect(parseLock('{"pid":0}')).toBeUndefined();
    expect(parseLock('-1')).toBeUndefined();
  });
});

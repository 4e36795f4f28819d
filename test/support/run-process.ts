/** Runs a command as a separate process and collects what it printed; killed after a time limit. */
import { spawn } from 'node:child_process';

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly input?: string;
  /** @default 120000 */
  readonly timeoutMs?: number;
  /** Stops the process (SIGTERM) once its stdout matches: for programs that run until stopped. */
  readonly until?: RegExp;
}

/**
 * The environment for a child: this process's, without the `npm_*` variables an `npm test` run sets
 * (an `npm install` in a temporary project must not inherit this repository's npm settings).
 */
export function cleanEnv(extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...extra })) {
    if (value !== undefined && !name.toLowerCase().startsWith('npm_')) env[name] = value;
  }
  return env;
}

export function run(command: string, args: readonly string[], options: RunOptions): Promise<Run> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined || !Number.isSafeInteger(pid) || pid <= 0) {
      child.once('error', reject);
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (options.until?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // Only the child this call started, by its own handle (never a process group or a name).
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - startedAt });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Throws with what the command printed unless it exited with 0. */
export function expectSuccess(result: Run, what: string): Run {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
  return result;
}

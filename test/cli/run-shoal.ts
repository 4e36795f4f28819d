/** Runs the `shoal` bin as a separate process, as a user would, and collects what it printed. */
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Run, run as runProcess } from '../support/run-process.js';

const BIN = fileURLToPath(new URL('../../cli/shoal.mjs', import.meta.url));

export type { Run };

/** Runs `shoal <args>` with SHOAL_URL set to `url`; killed after 25 s. */
export function runShoal(
  url: string,
  args: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return runProcess(process.execPath, [BIN, ...args], {
    cwd: process.cwd(),
    env: { SHOAL_URL: url, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
    timeoutMs: 25_000,
  });
}

/** A port nothing listens on: one the system just handed out and took back. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** stdout of `--format json`: one object per line. */
export const jsonLines = (text: string): any[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));

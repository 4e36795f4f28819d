/**
 * A whole local stack for one test file (its own DynamoDB Local in memory, S3 in a temporary
 * folder, the dispatcher and the watch server), no archiver timer: for tests of what only the
 * running stack does, such as notifying watchers from the table's stream.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, startLocalStack } from '../../local/stack.js';

export interface ThrowawayStack {
  readonly stack: LocalStack;
  /** Stops the stack and removes its folder. */
  stop(): Promise<void>;
}

export async function startThrowawayStack(prefix: string): Promise<ThrowawayStack> {
  const scratch = await mkdtemp(join(tmpdir(), `shoal-${prefix}-`));
  const stack = await startLocalStack({ dataDir: scratch, port: 0, persistent: false, archiveIntervalMs: 0 });
  return {
    stack,
    stop: async () => {
      await stack.stop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

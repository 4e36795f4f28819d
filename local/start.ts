/**
 * `npm start`: runs the persistent local stack until Ctrl-C (SIGINT) or SIGTERM.
 *
 * Prints exactly one line when ready. A failure the user can fix (no Java, a port in use, a child
 * that died) prints one line to stderr and exits 1; a stop by signal exits 0.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLocalStackConfig } from '../shared/config.js';
import { type LocalStack, LocalStackError, startLocalStack } from './stack.js';

/** Upper bound on a stop after Ctrl-C or SIGTERM. */
const STOP_WAIT_MS_MAX = 15_000;

async function main(): Promise<void> {
  let settings: ReturnType<typeof readLocalStackConfig>;
  try {
    settings = readLocalStackConfig();
  } catch (error) {
    throw new LocalStackError(error instanceof Error ? error.message : String(error));
  }
  const abort = new AbortController();
  let stack: LocalStack | undefined;
  let stopRequested = false;
  const onSignal = () => {
    // The terminal and npm may each deliver the same Ctrl-C: act on the first one only.
    if (stopRequested) return;
    stopRequested = true;
    abort.abort();
    // Stopping is bounded (DynamoDB Local gets SIGKILL after 5 s); this is the last resort.
    setTimeout(() => {
      console.error(`Shoal did not stop within ${STOP_WAIT_MS_MAX} ms: exiting anyway`);
      process.exit(1);
    }, STOP_WAIT_MS_MAX).unref();
    void stack?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    stack = await startLocalStack({
      dataDir: settings.dataDir,
      port: settings.port,
      persistent: true,
      logRequests: settings.logRequests,
      moduleDirs: settings.moduleDirs,
      archiveIntervalMs: settings.archiveIntervalMs,
      outboxRelays: settings.outboxRelays,
      signal: abort.signal,
    });
  } catch (error) {
    if (stopRequested) return;
    throw error;
  }
  if (stopRequested) {
    await stack.stop();
    return;
  }
  // Where the stack's parts listen, for local tools such as the outbox example's order service, which
  // writes its own table in this DynamoDB Local.
  await writeFile(
    join(settings.dataDir, 'endpoints.json'),
    `${JSON.stringify({ api: stack.url, dynamodb: stack.config.dynamodbEndpoint, s3: stack.config.s3Endpoint })}\n`,
  );
  console.log(`Shoal is running at ${stack.url} (data in ${settings.dataDir}; Ctrl-C to stop)`);
  await stack.done;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof LocalStackError) {
      console.error(error.message);
    } else {
      console.error('Shoal failed to start:', error);
    }
    process.exit(1);
  },
);

/**
 * A Shoal API with faults injected into its DynamoDB client, for the checker's command line and the
 * benchmark: either a whole throwaway local stack, or fresh tables on a DynamoDB Local that is
 * already running (the benchmark's own), served by the same handlers on a free port.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { createLocalHttpServer } from '../../local/http-server.js';
import { provision } from '../../local/provision.js';
import { loadHandlers, startLocalStack } from '../../local/stack.js';
import type { ShoalConfig } from '../../shared/config.js';
import { createRuntime } from '../../shared/runtime.js';
import { tieredStorageFor } from '../../shared/services.js';
import { asOperation, type CheckFaults, trackOperations } from './faults.js';

/** A running API under test. */
export interface CheckTarget {
  readonly url: string;
  /** One archiver pass over the target's topics, through the same faulty DynamoDB client. */
  archive(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Endpoints of local parts that are already running. */
export interface LocalEndpoints {
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
}

/**
 * Starts an API whose DynamoDB client carries `faults`: on fresh tables of a running DynamoDB Local
 * when `endpoints` are given, else on a throwaway local stack (in-memory DynamoDB Local, temp S3).
 */
export async function startCheckTarget(
  faults: CheckFaults,
  endpoints?: LocalEndpoints,
): Promise<CheckTarget> {
  if (endpoints === undefined) {
    const stack = await startLocalStack({
      dataDir: tmpdir(),
      port: 0,
      persistent: false,
      runtimeOptions: { decorateDynamoDb: faults.install, decorateS3: faults.installS3 },
      // The checker runs the archiver itself, often, so records cross to S3 during a short run.
      archiveIntervalMs: 0,
    });
    const { archiver } = tieredStorageFor(stack.runtime);
    // The stack's handlers are not tracked: their faults count as unattributed.
    return {
      url: stack.url,
      archive: () => asOperation('archive', () => archiver.run()),
      stop: () => stack.stop(),
    };
  }
  const id = randomBytes(4).toString('hex');
  const config: ShoalConfig = {
    logTableName: `check-${id}-log`,
    metaTableName: `check-${id}-meta`,
    segmentBucketName: `check-${id}-segments`,
    region: 'us-east-1',
    dynamodbEndpoint: endpoints.dynamodbEndpoint,
    s3Endpoint: endpoints.s3Endpoint,
  };
  await provision(config);
  const runtime = createRuntime(config, { decorateDynamoDb: faults.install, decorateS3: faults.installS3 });
  const { handlers } = await loadHandlers(runtime);
  const server = createLocalHttpServer(trackOperations(handlers));
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('The check API has no port'));
      else resolve(address.port);
    });
  });
  const { archiver } = tieredStorageFor(runtime);
  return {
    url: `http://127.0.0.1:${port}`,
    archive: () => asOperation('archive', () => archiver.run()),
    stop: async () => {
      await closeServer(server);
      runtime.dynamodb.destroy();
      runtime.s3.destroy();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

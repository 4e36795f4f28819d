/**
 * Vitest global setup: starts DynamoDB Local (in memory) and the S3 server (in a temp folder) once
 * for the whole run and hands their endpoints to the test files through `inject()`. Each test file
 * then creates its own tables and bucket (see `local-aws.ts`), so files run in parallel without
 * sharing data.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { checkJava, LOCAL_RESOURCE_NAMES, startDynamoDbLocal, startS3Server } from '../../local/stack.js';
import { createRuntime } from '../../shared/runtime.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the run's DynamoDB Local. */
    dynamodbEndpoint: string;
    /** `http://127.0.0.1:<port>` of the run's S3 server. */
    s3Endpoint: string;
  }
}

/** Starts both servers, provides their endpoints, and returns the teardown that stops them. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await checkJava();
  const s3Directory = await mkdtemp(join(tmpdir(), 'shoal-test-s3-'));
  const s3Server = await startS3Server({ directory: s3Directory });
  let dynamodbLocal: Awaited<ReturnType<typeof startDynamoDbLocal>>;
  try {
    dynamodbLocal = await startDynamoDbLocal();
  } catch (error) {
    await s3Server.stop();
    await rm(s3Directory, { recursive: true, force: true });
    throw error;
  }
  // The S3 server accepts only access keys it knows: let in the one every test runtime signs with.
  const probe = createRuntime({
    ...LOCAL_RESOURCE_NAMES,
    region: 'us-east-1',
    dynamodbEndpoint: dynamodbLocal.endpoint,
    s3Endpoint: s3Server.endpoint,
  });
  await s3Server.allowClient(probe.s3);
  probe.dynamodb.destroy();
  probe.s3.destroy();

  project.provide('dynamodbEndpoint', dynamodbLocal.endpoint);
  project.provide('s3Endpoint', s3Server.endpoint);
  return async () => {
    await Promise.all([dynamodbLocal.stop(), s3Server.stop()]);
    await rm(s3Directory, { recursive: true, force: true });
  };
}

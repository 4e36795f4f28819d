import { beforeAll } from 'vitest';
import { DynamoDbPartitionLog } from '../../shared/adapters/dynamodb/partition-log.js';
import { DynamoDbSegmentManifest } from '../../shared/adapters/dynamodb/segment-manifest.js';
import { S3SegmentObjects } from '../../shared/adapters/s3/segment-objects.js';
import type { Runtime } from '../../shared/runtime.js';
import { createTestRuntime } from '../support/local-aws.js';
import { segmentArchiveContract } from './segment-archive.contract.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'contract-archive' });
});

segmentArchiveContract('DynamoDB and S3', async () => {
  const { logTableName, metaTableName, segmentBucketName } = runtime.config;
  return {
    log: new DynamoDbPartitionLog(runtime.documents, { logTableName, metaTableName }),
    manifest: new DynamoDbSegmentManifest(runtime.documents, { metaTableName }),
    objects: new S3SegmentObjects(runtime.s3, segmentBucketName),
  };
});

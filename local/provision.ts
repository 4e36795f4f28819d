/**
 * Creates Shoal's tables and bucket on the local stack (and in tests), in the same shape as the CDK
 * stack does in AWS. Every function here is idempotent: it creates what is absent, completes what
 * is half there (a missing TTL or stream) and leaves the rest alone, so `npm start` can run it on
 * every start against persisted data.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  type StreamViewType,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOG_TABLE, META_TABLE } from '../shared/adapters/dynamodb/table-schema.js';
import type { ShoalConfig } from '../shared/config.js';
import { createRuntime } from '../shared/runtime.js';

/** The two table names to provision. */
export interface TableNames {
  readonly logTableName: string;
  readonly metaTableName: string;
}

/** Limits for provisioning. */
export interface ProvisionOptions {
  /** How long to wait for a table to become ACTIVE. @default 60000 */
  readonly activeWaitMsMax?: number;
}

/** The physical shape of one table, derived from `table-schema.ts`. */
interface TableShape {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly sortKeyType: 'S' | 'N';
  readonly ttlAttribute: string;
  readonly streamView: StreamViewType | undefined;
}

const POLL_INTERVAL_MS = 100;

/**
 * Creates the log and meta tables when absent and waits until both are ACTIVE with TTL enabled.
 *
 * - log table: `pk` (S, hash), `sk` (N, range), on-demand, stream NEW_AND_OLD_IMAGES, TTL on
 *   `LOG_TABLE.ttlAttribute`;
 * - meta table: `pk` (S, hash), `sk` (S, range), on-demand, TTL on `META_TABLE.ttlAttribute`.
 *
 * @throws Error when a table exists with another key schema (data from an incompatible version).
 * @example
 * await ensureTables(runtime.dynamodb, { logTableName: 'shoal-log', metaTableName: 'shoal-meta' });
 */
export async function ensureTables(
  dynamodb: DynamoDBClient,
  names: TableNames,
  options: ProvisionOptions = {},
): Promise<void> {
  const activeWaitMsMax = options.activeWaitMsMax ?? 60_000;
  await Promise.all([
    ensureTable(
      dynamodb,
      {
        name: names.logTableName,
        partitionKey: LOG_TABLE.partitionKey,
        sortKey: LOG_TABLE.sortKey,
        sortKeyType: 'N',
        ttlAttribute: LOG_TABLE.ttlAttribute,
        streamView: LOG_TABLE.streamView,
      },
      activeWaitMsMax,
    ),
    ensureTable(
      dynamodb,
      {
        name: names.metaTableName,
        partitionKey: META_TABLE.partitionKey,
        sortKey: META_TABLE.sortKey,
        sortKeyType: 'S',
        ttlAttribute: META_TABLE.ttlAttribute,
        streamView: undefined,
      },
      activeWaitMsMax,
    ),
  ]);
}

/**
 * Creates the segment bucket when absent.
 * @example
 * await ensureBucket(runtime.s3, 'shoal-segments');
 */
export async function ensureBucket(s3: S3Client, bucketName: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucketName }));
    return;
  } catch (error) {
    if (!hasName(error, 'NotFound', 'NoSuchBucket')) throw error;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  } catch (error) {
    // Another process created it between the two calls.
    if (!hasName(error, 'BucketAlreadyOwnedByYou', 'BucketAlreadyExists')) throw error;
  }
}

async function ensureTable(
  dynamodb: DynamoDBClient,
  shape: TableShape,
  activeWaitMsMax: number,
): Promise<void> {
  let table = await describeTable(dynamodb, shape.name);
  if (table === undefined) {
    await createTable(dynamodb, shape);
  } else {
    assertKeySchema(table, shape);
  }
  table = await waitUntilActive(dynamodb, shape.name, activeWaitMsMax);
  if (shape.streamView !== undefined && table.StreamSpecification?.StreamEnabled !== true) {
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: shape.name,
        StreamSpecification: { StreamEnabled: true, StreamViewType: shape.streamView },
      }),
    );
    await waitUntilActive(dynamodb, shape.name, activeWaitMsMax);
  }
  await ensureTimeToLive(dynamodb, shape);
}

async function createTable(dynamodb: DynamoDBClient, shape: TableShape): Promise<void> {
  const attributes: AttributeDefinition[] = [
    { AttributeName: shape.partitionKey, AttributeType: 'S' },
    { AttributeName: shape.sortKey, AttributeType: shape.sortKeyType },
  ];
  const keySchema: KeySchemaElement[] = [
    { AttributeName: shape.partitionKey, KeyType: 'HASH' },
    { AttributeName: shape.sortKey, KeyType: 'RANGE' },
  ];
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: shape.name,
        AttributeDefinitions: attributes,
        KeySchema: keySchema,
        BillingMode: 'PAY_PER_REQUEST',
        ...(shape.streamView === undefined
          ? {}
          : { StreamSpecification: { StreamEnabled: true, StreamViewType: shape.streamView } }),
      }),
    );
  } catch (error) {
    // Another process created it since we looked: the checks after creation still apply.
    if (!hasName(error, 'ResourceInUseException')) throw error;
  }
}

async function ensureTimeToLive(dynamodb: DynamoDBClient, shape: TableShape): Promise<void> {
  const described = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: shape.name }));
  const status = described.TimeToLiveDescription?.TimeToLiveStatus;
  const attribute = described.TimeToLiveDescription?.AttributeName;
  if ((status === 'ENABLED' || status === 'ENABLING') && attribute === shape.ttlAttribute) return;
  if (status === 'ENABLED' || status === 'ENABLING') {
    throw new Error(
      `Table ${shape.name} has TTL on attribute "${attribute}", expected "${shape.ttlAttribute}": delete the table or its data folder`,
    );
  }
  await dynamodb.send(
    new UpdateTimeToLiveCommand({
      TableName: shape.name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: shape.ttlAttribute },
    }),
  );
}

async function describeTable(dynamodb: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    const described = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    return described.Table;
  } catch (error) {
    if (hasName(error, 'ResourceNotFoundException')) return undefined;
    throw error;
  }
}

async function waitUntilActive(
  dynamodb: DynamoDBClient,
  name: string,
  activeWaitMsMax: number,
): Promise<TableDescription> {
  const deadline = Date.now() + activeWaitMsMax;
  for (;;) {
    const table = await describeTable(dynamodb, name);
    if (table?.TableStatus === 'ACTIVE') return table;
    if (Date.now() >= deadline) {
      throw new Error(
        `Table ${name} is not ACTIVE after ${activeWaitMsMax} ms (status ${table?.TableStatus ?? 'absent'})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function assertKeySchema(table: TableDescription, shape: TableShape): void {
  const keyOf = (type: 'HASH' | 'RANGE') =>
    table.KeySchema?.find((key) => key.KeyType === type)?.AttributeName;
  const typeOf = (attribute: string | undefined) =>
    table.AttributeDefinitions?.find((definition) => definition.AttributeName === attribute)?.AttributeType;
  const hash = keyOf('HASH');
  const range = keyOf('RANGE');
  const matches =
    hash === shape.partitionKey &&
    typeOf(hash) === 'S' &&
    range === shape.sortKey &&
    typeOf(range) === shape.sortKeyType;
  if (!matches) {
    throw new Error(
      `Table ${shape.name} exists with key ${hash} (${typeOf(hash)}) / ${range} (${typeOf(range)}), ` +
        `expected ${shape.partitionKey} (S) / ${shape.sortKey} (${shape.sortKeyType}): delete the table or its data folder`,
    );
  }
}

function hasName(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/**
 * Creates the tables and the bucket of `config` when they are missing, through clients of its own
 * that it closes again: what the local stack's tests and the consistency checker do before they
 * build the runtime they measure (with its fault injection).
 */
export async function provision(config: ShoalConfig): Promise<void> {
  const provisioner = createRuntime(config);
  try {
    await ensureTables(provisioner.dynamodb, config);
    await ensureBucket(provisioner.s3, config.segmentBucketName);
  } finally {
    provisioner.dynamodb.destroy();
    provisioner.s3.destroy();
  }
}

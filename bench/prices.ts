/**
 * AWS list prices and billing rules for us-east-1 (US East, N. Virginia), the one place the cost
 * model reads them from. Every figure names where it was read; all were checked on
 * {@link PRICES_CHECKED_ON}. Prices change: re-check each source and update the date together.
 *
 * Not included anywhere: free tiers (account-wide and often used up), Savings Plans, data transfer
 * (free within a Region for all four systems compared), taxes.
 */

/** The day every price below was last checked against its source. */
export const PRICES_CHECKED_ON = '2026-11-21';

/** The Region the prices are for. */
export const PRICE_REGION = 'us-east-1';

/** One list price. */
export interface ListPrice {
  /** US dollars per one `unit`. */
  readonly usd: number;
  /** What one unit is. */
  readonly unit: string;
  /** Where the figure was read (first the provider's own page, then a corroborating source if any). */
  readonly source: string;
  /** How the figure was confirmed, when the first source alone did not show the number. */
  readonly note?: string;
}

const DYNAMODB_ON_DEMAND = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const AWS_DDB_COST_CALCULATOR =
  'https://github.com/aws/agent-toolkit-for-aws (skills/specialized-skills/database-skills/amazon-dynamodb/' +
  'scripts/calculate_costs.py: WRU, RRU and storage constants published by AWS)';
const KINESIS_PRICING = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const KINESIS_BLOG_2026 =
  'https://aws.amazon.com/blogs/big-data/kinesis-on-demand-advantage-saves-60-on-streaming-costs/ (2026-03-09, us-east-1 figures)';

/** GiB: AWS bills storage and data volumes per GB of 2^30 bytes. */
export const GIB = 2 ** 30;
/** An average month (365.25 / 12 days = 730.5 hours), for GB-month charges. */
export const DAYS_PER_MONTH = 30.4375;

/** us-east-1 list prices, grouped by service. */
export const PRICES = {
  dynamodb: {
    writeRequestUnit: {
      usd: 0.625 / 1_000_000,
      unit: 'write request unit (on-demand, Standard table class): $0.625 per million',
      source: `${DYNAMODB_ON_DEMAND}; ${AWS_DDB_COST_CALCULATOR}`,
      note: 'Halved on 2024-11-01 from $1.25 per million; the AWS-published calculator carries $0.625.',
    },
    readRequestUnit: {
      usd: 0.125 / 1_000_000,
      unit: 'read request unit (on-demand, Standard table class): $0.125 per million',
      source: `${DYNAMODB_ON_DEMAND}; ${AWS_DDB_COST_CALCULATOR}`,
    },
    storageGbMonth: {
      usd: 0.25,
      unit: 'GB-month of table storage (Standard table class, beyond the 25 GB free tier)',
      source: `${DYNAMODB_ON_DEMAND}; ${AWS_DDB_COST_CALCULATOR}`,
    },
    streamsReadRequestUnit: {
      usd: 0.02 / 100_000,
      unit: 'streams read request unit (one GetRecords call): $0.02 per 100,000',
      source: `${DYNAMODB_ON_DEMAND}; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html`,
      note: 'GetRecords calls made by AWS Lambda triggers are not charged.',
    },
  },
  s3: {
    storageGbMonth: {
      usd: 0.023,
      unit: 'GB-month of S3 Standard storage (first 50 TB)',
      source: 'https://aws.amazon.com/s3/pricing/',
    },
    putRequest: {
      usd: 0.005 / 1_000,
      unit: 'PUT, COPY, POST or LIST request to S3 Standard: $0.005 per 1,000',
      source: 'https://aws.amazon.com/s3/pricing/',
    },
    getRequest: {
      usd: 0.0004 / 1_000,
      unit: 'GET or SELECT request to S3 Standard: $0.0004 per 1,000',
      source: 'https://aws.amazon.com/s3/pricing/',
    },
  },
  lambda: {
    request: {
      usd: 0.2 / 1_000_000,
      unit: 'invocation: $0.20 per million',
      source: 'https://aws.amazon.com/lambda/pricing/',
    },
    gbSecondArm: {
      usd: 0.0000133334,
      unit: 'GB-second of duration on arm64 (first 7.5 billion GB-s a month)',
      source: 'https://aws.amazon.com/lambda/pricing/',
    },
    gbSecondX86: {
      usd: 0.0000166667,
      unit: 'GB-second of duration on x86_64 (first 6 billion GB-s a month)',
      source: 'https://aws.amazon.com/lambda/pricing/',
    },
  },
  dynamodbBackup: {
    pitrGbMonth: {
      usd: 0.2,
      unit: 'GB-month of continuous backups (point-in-time recovery), billed on the table size',
      source: `${DYNAMODB_ON_DEMAND}; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery_Howitworks.html`,
    },
  },
  s3Extras: {
    tagMonth: {
      usd: 0.01 / 10_000,
      unit: 'object tag-month: $0.01 per 10,000 tags per month',
      source: 'https://aws.amazon.com/s3/pricing/ (Management and insights: object tagging)',
    },
  },
  cloudWatch: {
    logIngestGb: {
      usd: 0.5,
      unit: 'GB of log data ingested (Standard log class), EMF documents included',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
    },
    logStorageGbMonth: {
      usd: 0.03,
      unit: 'GB-month of archived log data',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
      note: 'Billed on compressed bytes; the model counts the uncompressed bytes (an upper bound).',
    },
    customMetricMonth: {
      usd: 0.3,
      unit: 'custom metric-month (first 10,000), prorated by the hour a metric is published',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
    },
    alarmMonth: {
      usd: 0.1,
      unit: 'standard-resolution alarm metric-month',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
    },
    dashboardMonth: {
      usd: 3,
      unit: 'dashboard-month (beyond the 3 free ones, which an account may already use)',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
    },
  },
  xray: {
    traceRecorded: {
      usd: 5 / 1_000_000,
      unit: 'trace recorded: $5.00 per million',
      source: 'https://aws.amazon.com/xray/pricing/',
    },
  },
  apiGatewayRest: {
    request: {
      usd: 3.5 / 1_000_000,
      unit: 'REST API call: $3.50 per million (first 333 million a month)',
      source: 'https://aws.amazon.com/api-gateway/pricing/',
    },
  },
  apiGatewayWebSocket: {
    message: {
      usd: 1 / 1_000_000,
      unit: 'WebSocket message sent or received, metered in 32 KB units: $1.00 per million (first billion a month)',
      source: 'https://aws.amazon.com/api-gateway/pricing/',
    },
    connectionMinute: {
      usd: 0.25 / 1_000_000,
      unit: 'WebSocket connection minute: $0.25 per million',
      source: 'https://aws.amazon.com/api-gateway/pricing/',
    },
  },
  kinesisOnDemand: {
    streamHour: {
      usd: 0.04,
      unit: 'stream-hour of an on-demand (Standard) stream',
      source: `${KINESIS_PRICING}; ${KINESIS_BLOG_2026}`,
    },
    ingestGb: {
      usd: 0.08,
      unit: 'GB ingested, each record rounded up to 1 KB (on-demand Standard)',
      source: `${KINESIS_PRICING}; ${KINESIS_BLOG_2026}`,
    },
    retrievalGb: {
      usd: 0.04,
      unit: 'GB retrieved by shared-throughput consumers (on-demand Standard)',
      source: KINESIS_PRICING,
      note: 'The page renders this rate from a price token; $0.04 agrees with published cost-tool tables.',
    },
    extendedRetentionGbMonth: {
      usd: 0.1,
      unit: 'GB-month stored beyond 24 hours and up to 7 days (on-demand Standard)',
      source: `${KINESIS_PRICING}; ${KINESIS_BLOG_2026}`,
    },
  },
  kinesisProvisioned: {
    shardHour: {
      usd: 0.015,
      unit: 'shard-hour (1 MB/s or 1,000 records/s in, 2 MB/s out)',
      source: KINESIS_PRICING,
      note: 'Also on AWS invoices quoted in amazon-archives/amazon-kinesis-data-visualization-sample#5.',
    },
    putPayloadUnit: {
      usd: 0.014 / 1_000_000,
      unit: 'PUT payload unit (each record counted in 25 KB chunks): $0.014 per million',
      source: KINESIS_PRICING,
    },
    extendedRetentionShardHour: {
      usd: 0.02,
      unit: 'shard-hour of extended retention (beyond 24 hours, up to 7 days)',
      source: KINESIS_PRICING,
    },
  },
  sqs: {
    standardRequest: {
      usd: 0.4 / 1_000_000,
      unit: 'standard-queue request (each 64 KB chunk of a payload counts as one): $0.40 per million',
      source: 'https://aws.amazon.com/sqs/pricing/; https://aws.amazon.com/sqs/features/ (64 KB chunks)',
    },
    fifoRequest: {
      usd: 0.5 / 1_000_000,
      unit: 'FIFO-queue request: $0.50 per million',
      source: 'https://aws.amazon.com/sqs/pricing/',
    },
  },
} as const satisfies Record<string, Record<string, ListPrice>>;

/** The price table's shape, so the cost model can take another table in tests. */
export type PriceTable = typeof PRICES;

/** How each service turns usage into billable units. */
export const BILLING_RULES = {
  dynamodb: {
    /** One write unit per 1 KB of item size, rounded up per item; an update counts the larger image. */
    writeUnitBytes: 1024,
    /** One strongly consistent read unit per 4 KB (per item for Get/BatchGet, per page for Query). */
    readUnitBytes: 4096,
    /** Transactional writes and reads take two units per unit of size. */
    transactionMultiplier: 2,
    /** Billed storage adds 100 bytes of indexing overhead per item. */
    storageOverheadBytesPerItem: 100,
    /** A partition key takes at most 1,000 write units per second. */
    partitionWriteUnitsPerSecondMax: 1000,
    source:
      'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html; ' +
      DYNAMODB_ON_DEMAND,
  },
  kinesis: {
    /** On-demand ingest rounds every record up to a whole KB. */
    onDemandRecordRoundingBytes: 1024,
    /** Provisioned PUT payload units count each record in 25 KB chunks. */
    putPayloadUnitBytes: 25 * 1024,
    shardIngestBytesPerSecondMax: 1024 * 1024,
    shardIngestRecordsPerSecondMax: 1000,
    /** Retention included in the base price. */
    includedRetentionHours: 24,
    source: KINESIS_PRICING,
  },
  lambda: {
    /** Billed duration is rounded up to the next millisecond. */
    billedDurationStepMs: 1,
    /** Lambda polls each stream shard this many times a second; with no batching window each poll that finds records invokes. */
    streamPollsPerSecond: 4,
    source:
      'https://aws.amazon.com/lambda/pricing/; https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html',
  },
  cloudWatchLogs: {
    /** Each log event counts its message plus 26 bytes. */
    eventOverheadBytes: 26,
    source: 'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html',
  },
  xray: {
    /** X-Ray's default sampling rule: this many requests a second (shared by every service using it)... */
    defaultReservoirPerSecond: 1,
    /** ...and this share of the rest. */
    defaultFixedRate: 0.05,
    source: 'https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html',
  },
  dynamodbTtl: {
    /** "DynamoDB typically deletes expired items within two days of expiration" (UpdateTimeToLive API reference). */
    deletionDelayDays: 2,
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html',
  },
  kinesisProducer: {
    /** A KPL aggregated record holds at most this much (a Kinesis record's limit). */
    aggregatedRecordBytesMax: 1024 * 1024,
    /** KPL's aggregation format adds a protobuf frame, a partition-key table and an MD5 per record. */
    aggregationOverheadBytes: 20,
    source: 'https://docs.aws.amazon.com/streams/latest/dev/kinesis-kpl-concepts.html',
  },
  sqs: {
    /** Each 64 KB chunk of a request's payload is billed as one request. */
    requestChunkBytes: 64 * 1024,
    /** SendMessageBatch, ReceiveMessage and DeleteMessageBatch take at most 10 messages. */
    batchMessagesMax: 10,
    source: 'https://aws.amazon.com/sqs/features/; https://aws.amazon.com/sqs/pricing/',
  },
} as const;

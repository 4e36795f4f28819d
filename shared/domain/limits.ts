/**
 * Every published limit in one place (the README lists them). Units last.
 */
export const LIMITS = {
  /**
   * Lambda's limit on a synchronous invocation's payload (the whole proxy event, in which API
   * Gateway carries the body as an escaped string), 6,291,456 bytes; API Gateway would allow 10 MB.
   */
  lambdaPayloadBytesMax: 6 * 1024 * 1024,
  /** The request body the handlers accept: at most Lambda's payload limit. */
  requestBodyBytesMax: 6 * 1024 * 1024,
  /** Kafka's topic name limit. */
  topicNameLengthMax: 249,
  partitionsMin: 1,
  partitionsMax: 1024,
  /** Records in one produce request. */
  recordsPerRequestMax: 10_000,
  /**
   * One record's encoded size (key + value + headers + framing). A DynamoDB item holds at most
   * 400 KB; a batch item's own attributes take well under 1 KB of the rest.
   */
  recordBytesMax: 380_000,
  /** Encoded (uncompressed) bytes packed into one batch item before the next item starts. */
  batchItemBytesMax: 380_000,
  /**
   * Partitions one produce request touches: one transaction holds a head and at least one batch
   * per partition plus the Idempotency-Key, 2 × 49 + 1 of its 100 items. The same bound holds with
   * and without a key, so a request never becomes too large by adding one.
   */
  partitionsPerRequestMax: 49,
  /** DynamoDB transactions take at most 100 items and 4 MB. */
  transactionItemsMax: 100,
  transactionBytesMax: 4_000_000,
  headersPerRecordMax: 64,
  headerNameLengthMax: 256,
  idempotencyKeyLengthMax: 255,
  /** How long an Idempotency-Key is remembered. */
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
  /** Attempts at an append that loses the race for the partition head, before 503. */
  appendAttemptsMax: 12,
  appendBackoffBaseMs: 5,
  appendBackoffCapMs: 250,
  fetchRecordsDefault: 500,
  fetchRecordsMax: 10_000,
  fetchBytesDefault: 1024 * 1024,
  /** Keeps a fetch answer (base64 and JSON framing included) under Lambda's 6 MB response limit. */
  fetchBytesMax: 3 * 1024 * 1024,
  /** Long-poll bound; API Gateway's integration timeout is 29 s. */
  fetchWaitMsMax: 20_000,
  /** How often a long poll looks at the partition head. */
  fetchPollIntervalMs: 100,
  /** Retention: -1 keeps records forever. */
  retentionMsDefault: 7 * 24 * 60 * 60 * 1000,
  retentionMsMin: 60_000,
  retentionMsMax: 10 * 365 * 24 * 60 * 60 * 1000,
  /**
   * Retention by size, per partition (Kafka's `retention.bytes`): -1, the default, sets no bound.
   * Counted over the stored (compressed) bytes of the partition's S3 segments.
   */
  retentionBytesMin: 1024,
  retentionBytesMax: Number.MAX_SAFE_INTEGER,
  /**
   * A segment rolls once its first batch is this old (Kafka's `segment.ms`, whose default is 7 days:
   * here the unrolled tail waits in DynamoDB, which stores a byte for about ten times S3's price).
   */
  segmentMsDefault: 60 * 60 * 1000,
  segmentMsMin: 1_000,
  segmentMsMax: 7 * 24 * 60 * 60 * 1000,
  /**
   * A segment rolls before it grows past this many stored bytes (Kafka's `segment.bytes`, default
   * 1 GiB: here the archiver assembles a segment in Lambda memory, hence the lower bound and cap).
   */
  segmentBytesDefault: 64 * 1024 * 1024,
  segmentBytesMin: 1024,
  segmentBytesMax: 256 * 1024 * 1024,
  /**
   * How long a batch stays in DynamoDB after it is appended (Kafka's `local.retention.ms`): its TTL.
   * Never longer than `retentionMs`.
   */
  localRetentionMsDefault: 24 * 60 * 60 * 1000,
  localRetentionMsMin: 1_000,
  localRetentionMsMax: 10 * 365 * 24 * 60 * 60 * 1000,
  /** Topics listed in one answer. */
  topicsListedMax: 10_000,
  /** Binary search steps of an offset-for-timestamp lookup (2^60 offsets). */
  timestampSearchStepsMax: 60,
  /** Consumer group ids: the same characters as topic names, at most this long. */
  groupNameLengthMax: 249,
  /** Live members of one group (the group item lists every member's assignment). */
  groupMembersMax: 100,
  /** Topics one member subscribes to. */
  groupTopicsPerMemberMax: 32,
  /** Partitions assigned in one group, over all its topics (bounds the group item's size). */
  groupPartitionsMax: 4096,
  /** A member silent this long is dropped (Kafka's `session.timeout.ms` default). */
  sessionTimeoutMsDefault: 45_000,
  sessionTimeoutMsMin: 1_000,
  sessionTimeoutMsMax: 5 * 60 * 1000,
  /**
   * Offsets in one commit: one DynamoDB transaction of 100 items holds the group condition, the
   * member's liveness update and 98 offsets.
   */
  commitOffsetsPerRequestMax: 98,
  /** Offset metadata as in Kafka's `offset.metadata.max.bytes`. */
  commitMetadataLengthMax: 4096,
  /** Groups listed in one answer. */
  groupsListedMax: 10_000,
  /** Committed offsets shown by one describe. */
  groupOffsetsListedMax: 10_000,
  /** Attempts at a group change that races another change of the same group, before 503. */
  groupWriteAttemptsMax: 10,
} as const;

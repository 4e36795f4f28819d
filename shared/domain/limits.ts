/**
 * Lambda's limit on a synchronous invocation's payload, 6 MB: 6,291,456 bytes, for the event a
 * function is invoked with and for the result it returns alike. Behind API Gateway that is the whole
 * proxy event (body, headers, request context, as JSON) and the whole proxy result; API Gateway
 * itself would take 10 MB.
 */
const LAMBDA_PAYLOAD_BYTES_MAX = 6_291_456;

/**
 * What a proxy event holds besides its body, or a proxy result besides its body, at most. API
 * Gateway caps a REST request's request line and headers at 10,240 bytes. The event repeats them
 * up to five times (headers and multiValueHeaders; identity.userAgent; path, requestContext.path and
 * pathParameters; the query in two maps; the authorizer's context, taken from the bearer token),
 * and JSON escaping at most doubles a byte (a header value holds no control character; a decoded
 * `%01` is 3 bytes on the wire and `\u0001`, 6, in the event): 102,400 bytes. The JSON framing of
 * at most 2,560 headers (4 bytes each on the wire at least), 14 bytes each over the two maps:
 * 35,840. The request context's other fields and the event's keys: under 4,096. That is 142,336;
 * the reserve is twice that, rounded so that 6,000,000 bytes are left. A result's status code and
 * headers take under 1 KB.
 */
const PROXY_ENVELOPE_BYTES_MAX = 291_456;

/**
 * Every published limit in one place (the README lists them). Units last.
 */
export const LIMITS = {
  /** See {@link LAMBDA_PAYLOAD_BYTES_MAX}. */
  lambdaPayloadBytesMax: LAMBDA_PAYLOAD_BYTES_MAX,
  /** See {@link PROXY_ENVELOPE_BYTES_MAX}. */
  proxyEnvelopeBytesMax: PROXY_ENVELOPE_BYTES_MAX,
  /**
   * The request body the handlers accept, counted in the bytes received: 4,500,000. The REST API
   * treats every media type as binary (`binaryMediaTypes: ['*\/*']`), so API Gateway passes every body
   * base64-encoded, 4 bytes for 3 whatever it holds, and the event of a body at the limit is at
   * most 6,000,000 + 291,456 = 6,291,456 bytes. A body passed as text could grow 6 times
   * (`\u0001` for a control character): no limit above 1 MB would hold for it.
   */
  requestBodyBytesMax: ((LAMBDA_PAYLOAD_BYTES_MAX - PROXY_ENVELOPE_BYTES_MAX) / 4) * 3,
  /**
   * A response body as it lies in the proxy result, a JSON string in which `"`, `\` and JSON's
   * whitespace take 2 bytes: 6,291,456 - 291,456 = 6,000,000. A fetch stops adding records before
   * its answer would pass it; any other answer that would is a 500, logged, instead of a result
   * Lambda refuses.
   */
  responseBodyJsonBytesMax: LAMBDA_PAYLOAD_BYTES_MAX - PROXY_ENVELOPE_BYTES_MAX,
  /** Kafka's topic name limit. */
  topicNameLengthMax: 249,
  partitionsMin: 1,
  partitionsMax: 1024,
  /** Records in one produce request. */
  recordsPerRequestMax: 10_000,
  /**
   * One record's encoded size (key + value + headers + framing): 10 MiB, Kinesis's opt-in maximum.
   * Through the produce API a record is also bounded by the request body (`requestBodyBytesMax`,
   * less for BINARY data, which base64 makes a third larger); larger ones go through an upload
   * (`uploadBytesMax`).
   */
  recordBytesMax: 10 * 1024 * 1024,
  /**
   * Records up to this encoded size may share a batch with others, compressed, and may be kept in a
   * DynamoDB item (at most 400 KB; its own attributes take well under 1 KB of the rest). A larger
   * record is stored alone in its batch, uncompressed, and always in the append's payload object in
   * S3, so its value is one contiguous byte range that a fetch can hand out by reference.
   */
  recordInlineBytesMax: 380_000,
  /** Encoded (uncompressed) bytes packed into one batch item before the next item starts. */
  batchItemBytesMax: 380_000,
  /**
   * Partitions one produce request touches: one transaction holds a head and at least one batch
   * per partition plus the Idempotency-Key, 2 × 49 + 1 of its 100 items. The same bound holds with
   * and without a key, so a request never becomes too large by adding one.
   */
  partitionsPerRequestMax: 49,
  /**
   * Bytes one upload may declare (`POST /v1/topics/{topic}/uploads`): the value of one record, which
   * a produce then appends by reference. The record as a whole must still fit `recordBytesMax`.
   */
  uploadBytesMax: 10 * 1024 * 1024,
  /** Uploads one produce request may name, and their declared bytes in all: bound the memory of the produce function. */
  uploadsPerRequestMax: 8,
  uploadBytesPerRequestMax: 20 * 1024 * 1024,
  /** How long a presigned upload URL, and a fetch's presigned reference to a value, stay valid. */
  presignedUrlExpiresMs: 15 * 60 * 1000,
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
  /**
   * Record bytes (key + value + headers, as `recordBytes` counts them) in one fetch answer. Not
   * what bounds the answer's size: a record renders in up to 7 bytes per byte (a control character
   * in a STRING value is `\u0001` in the answer and `\\u0001` in the proxy result), so the answer
   * also stops before it passes `responseBodyJsonBytesMax`. One record always fits: a record of
   * up to `recordInlineBytesMax` bytes renders in 7 × 380,000 bytes plus the framing of 64 headers,
   * under 2,700,000; a larger one whose value does not fit is answered by reference (a presigned
   * URL and a byte range the client reads from S3).
   */
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
  /**
   * How old a cached topic may be when produce and fetch use it (`topic-cache.ts`), like a Kafka
   * producer's metadata: a partition added elsewhere is seen by keyed records this much later at
   * most. A deleted topic is refused at once whatever the cache holds (its heads are tombstones).
   */
  topicCacheAgeMsMax: 10_000,
  /** Topics one process keeps cached. */
  topicCacheEntriesMax: 1_000,
  /**
   * How long the tombstone heads of a deleted topic are kept: far longer than the cache age plus the
   * longest request, so nothing that read the topic before its deletion can append after it.
   */
  headTombstoneMs: 24 * 60 * 60 * 1000,
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
  /**
   * Topics one append with a commit (`POST /v1/groups/{group}/transactions`) writes to. Its one
   * transaction holds the group fence, the member, one item per offset, a head and at least one
   * batch per partition written, and the Idempotency-Key: `transactionItemsMax` bounds the sum
   * (with one offset and one batch per partition, a member's transaction fits 48 partitions).
   */
  transactionTopicsMax: 16,
  /** Offset metadata as in Kafka's `offset.metadata.max.bytes`. */
  commitMetadataLengthMax: 4096,
  /** Groups listed in one answer. */
  groupsListedMax: 10_000,
  /** Committed offsets shown by one describe. */
  groupOffsetsListedMax: 10_000,
  /** Attempts at a group change that races another change of the same group, before 503. */
  groupWriteAttemptsMax: 10,
} as const;

/**
 * The zod schemas of the HTTP API v1. They validate every request and generate the OpenAPI
 * document (`openapi.ts`), so the two cannot drift apart.
 */
import * as z from 'zod';
import { LIMITS } from '../domain/limits.js';
import { TIMESTAMP_MS_MAX } from '../domain/record-codec.js';
import { UPLOAD_ID_PATTERN } from '../domain/record-uploads.js';

const wholeNumber = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(
      z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`),
    );

/**
 * Epoch milliseconds a record can hold: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, the
 * range the record encoding stores (Kafka's timestamps are not negative either).
 */
const TimestampMs = z
  .number()
  .int()
  .min(0, 'must be at or after 1970-01-01T00:00:00Z (epoch millisecond 0)')
  .max(
    TIMESTAMP_MS_MAX,
    `must be at or before 9999-12-31T23:59:59.999Z (epoch millisecond ${TIMESTAMP_MS_MAX})`,
  );

/** An ISO-8601 date-time with offset, as epoch milliseconds in the range of {@link TimestampMs}. */
const IsoTimestamp = z.iso
  .datetime({ offset: true })
  .transform((text) => Date.parse(text))
  .pipe(TimestampMs);

/** ISO-8601 with offset, or epoch milliseconds; always epoch milliseconds after parsing. */
export const Timestamp = z
  .union([TimestampMs, IsoTimestamp])
  .meta({ description: 'ISO-8601 date-time with offset, or epoch milliseconds, from 1970 to 9999' });

export const TopicName = z
  .string()
  .min(1)
  .max(LIMITS.topicNameLengthMax)
  .regex(/^[a-zA-Z0-9._-]+$/, "may contain only ASCII letters, digits, '.', '_' and '-'")
  .refine((name) => name !== '.' && name !== '..', "cannot be '.' or '..'")
  .meta({ description: "Kafka's topic name rules", example: 'orders' });

const RetentionMs = z
  .number()
  .int()
  .refine(
    (ms) => ms === -1 || (ms >= LIMITS.retentionMsMin && ms <= LIMITS.retentionMsMax),
    `must be -1 (forever) or from ${LIMITS.retentionMsMin} to ${LIMITS.retentionMsMax}`,
  )
  .meta({
    description: 'How long records are kept, by append time; -1 keeps them forever',
    example: 604800000,
  });

const RetentionBytes = z
  .number()
  .int()
  .refine(
    (bytes) => bytes === -1 || (bytes >= LIMITS.retentionBytesMin && bytes <= LIMITS.retentionBytesMax),
    `must be -1 (no bound) or from ${LIMITS.retentionBytesMin} to ${LIMITS.retentionBytesMax}`,
  )
  .meta({
    description:
      "Bound on one partition's archived (stored, compressed) bytes; the oldest segments are deleted first. -1 sets no bound (Kafka's retention.bytes)",
    example: -1,
  });

const SegmentMs = z
  .number()
  .int()
  .min(LIMITS.segmentMsMin)
  .max(LIMITS.segmentMsMax)
  .meta({
    description: `Batches roll into an S3 segment once the first of them is this old (Kafka's segment.ms; default ${LIMITS.segmentMsDefault})`,
    example: LIMITS.segmentMsDefault,
  });

const SegmentBytes = z
  .number()
  .int()
  .min(LIMITS.segmentBytesMin)
  .max(LIMITS.segmentBytesMax)
  .meta({
    description: `A segment rolls before it grows past this many stored bytes (Kafka's segment.bytes; default ${LIMITS.segmentBytesDefault})`,
    example: LIMITS.segmentBytesDefault,
  });

const LocalRetentionMs = z
  .number()
  .int()
  .min(LIMITS.localRetentionMsMin)
  .max(LIMITS.localRetentionMsMax)
  .meta({
    description: `How long a batch stays in DynamoDB after it is appended, at most retentionMs; older records are read from S3 (Kafka's local.retention.ms; default ${LIMITS.localRetentionMsDefault})`,
    example: LIMITS.localRetentionMsDefault,
  });

const PartitionCount = z.number().int().min(LIMITS.partitionsMin).max(LIMITS.partitionsMax);

/** The configuration fields shared by create and update. */
const topicConfigFields = {
  retentionMs: RetentionMs.optional(),
  retentionBytes: RetentionBytes.optional(),
  segmentMs: SegmentMs.optional(),
  segmentBytes: SegmentBytes.optional(),
  localRetentionMs: LocalRetentionMs.optional(),
};

export const CreateTopicRequest = z
  .strictObject({
    name: TopicName,
    partitions: PartitionCount.meta({ example: 6 }),
    ...topicConfigFields,
  })
  .meta({ id: 'CreateTopicRequest' });

export const UpdateTopicRequest = z
  .strictObject({
    partitions: PartitionCount.optional().meta({ description: 'A larger partition count' }),
    ...topicConfigFields,
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: `give partitions or a configuration field (${Object.keys(topicConfigFields).join(', ')})`,
  })
  .meta({ id: 'UpdateTopicRequest' });

const Base64 = z.base64('must be base64');

/** Typed data as in Kafka REST v3. */
export const TypedData = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('JSON'),
      data: z.unknown().refine((value) => value !== undefined, 'data is required'),
    }),
    z.strictObject({ type: z.literal('STRING'), data: z.string() }),
    z.strictObject({ type: z.literal('BINARY'), data: Base64 }),
  ])
  .meta({
    id: 'TypedData',
    description:
      'A key or value: JSON, STRING or BINARY (base64). JSON data is stored as the exact text sent and read back as that text; a STRING with a lone surrogate is refused',
  });

export const Header = z
  .strictObject({
    name: z.string().min(1).max(LIMITS.headerNameLengthMax),
    value: Base64,
  })
  .meta({ id: 'Header' });

/** A value uploaded through `POST /v1/topics/{topic}/uploads`, named instead of its data. */
export const UploadedData = z
  .strictObject({
    type: z.enum(['JSON', 'STRING', 'BINARY']),
    uploadId: z.string().regex(UPLOAD_ID_PATTERN, 'not an upload id'),
  })
  .meta({
    id: 'UploadedData',
    description:
      'A value uploaded with a presigned URL from POST /v1/topics/{topic}/uploads: appended as if its bytes were the data (JSON must be one JSON text, STRING UTF-8)',
  });

/** A value whose data is too large for the answer: read `range` of `url` (a presigned S3 GET). */
export const ReferencedData = z
  .object({
    type: z.enum(['JSON', 'STRING', 'BINARY']),
    url: z.string(),
    range: z.string(),
    bytes: z.number().int(),
  })
  .meta({
    id: 'ReferencedData',
    description: `A value too large for the fetch answer (only records over ${LIMITS.recordInlineBytesMax} bytes): GET \`url\` with the header \`Range: <range>\` within ${LIMITS.presignedUrlExpiresMs / 60_000} minutes; the answer is the value's \`bytes\` bytes (JSON text, UTF-8 for STRING, raw for BINARY)`,
  });

export const ProduceRecordSchema = z
  .strictObject({
    key: TypedData.nullable().optional(),
    value: z.union([TypedData, UploadedData]).nullable().optional(),
    headers: z.array(Header).max(LIMITS.headersPerRecordMax).optional(),
    partition: z.number().int().min(0).optional(),
    timestamp: Timestamp.optional(),
  })
  .meta({ id: 'ProduceRecord' });

export const ProduceRequest = z
  .strictObject({ records: z.array(ProduceRecordSchema).min(1).max(LIMITS.recordsPerRequestMax) })
  .meta({ id: 'ProduceRequest' });

export const IdempotencyKeyHeader = z
  .string()
  .min(1)
  .max(LIMITS.idempotencyKeyLengthMax)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const PartitionParam = wholeNumber('partition', 0, Number.MAX_SAFE_INTEGER);

export const FetchQuery = z.strictObject({
  offset: wholeNumber('offset', 0, Number.MAX_SAFE_INTEGER).meta({
    description: 'The first offset to return',
  }),
  maxRecords: wholeNumber('maxRecords', 1, LIMITS.fetchRecordsMax)
    .optional()
    .meta({ description: `At most this many records (default ${LIMITS.fetchRecordsDefault})` }),
  maxBytes: wholeNumber('maxBytes', 1, LIMITS.fetchBytesMax)
    .optional()
    .meta({
      description: `At most about this many bytes of keys, values and headers; one record is always returned (default ${LIMITS.fetchBytesDefault}). The answer also stops before its JSON passes ${LIMITS.responseBodyJsonBytesMax} bytes as a string in Lambda's result, so records full of characters JSON escapes come in fewer per answer; nextOffset names the first left out`,
    }),
  waitMs: wholeNumber('waitMs', 0, LIMITS.fetchWaitMsMax)
    .optional()
    .meta({ description: 'Long poll: wait this long for records when there are none yet (default 0)' }),
});

export const OffsetsQuery = z.strictObject({
  timestamp: z
    .union([wholeNumber('timestamp', 0, TIMESTAMP_MS_MAX), IsoTimestamp])
    .meta({ description: 'ISO-8601 date-time or epoch milliseconds' }),
});

// Answers (for the OpenAPI document; handlers build them from domain results).

const PartitionStateSchema = z.object({
  partition: z.number().int(),
  logStartOffset: z.number().int(),
  highWatermark: z.number().int(),
  archivedOffset: z.number().int(),
  archivedBytes: z
    .number()
    .int()
    .meta({ description: 'Stored bytes of the S3 segments in [logStartOffset, archivedOffset)' }),
});

export const TopicConfigSchema = z.object({
  retentionMs: z.number().int(),
  retentionBytes: z.number().int(),
  segmentMs: z.number().int(),
  segmentBytes: z.number().int(),
  localRetentionMs: z.number().int(),
});

export const TopicDescriptionSchema = z
  .object({
    name: z.string(),
    topicId: z.string(),
    partitionCount: z.number().int(),
    partitions: z.array(PartitionStateSchema),
    config: TopicConfigSchema,
    createdAt: z.string(),
  })
  .meta({ id: 'Topic' });

export const TopicListSchema = z
  .object({
    topics: z.array(
      z.object({
        name: z.string(),
        partitionCount: z.number().int(),
        config: TopicConfigSchema,
        createdAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'TopicList' });

export const UploadRequest = z.strictObject({ bytes: z.number().int().min(1) }).meta({
  id: 'UploadRequest',
  description: `The exact byte count of the value to upload, at most ${LIMITS.uploadBytesMax}`,
});

export const UploadResponseSchema = z
  .object({
    uploadId: z.string(),
    url: z.string(),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()),
    bytes: z.number().int(),
    expiresAt: z.string(),
  })
  .meta({
    id: 'UploadResponse',
    description:
      'PUT the value to `url` with `headers` before `expiresAt`, then produce a record whose value is `{"type", "uploadId"}`',
  });

export const ProduceResponseSchema = z
  .object({
    topic: z.string(),
    records: z.array(
      z.object({ partition: z.number().int(), offset: z.number().int(), timestamp: z.string() }),
    ),
  })
  .meta({ id: 'ProduceResponse' });

export const FetchResponseSchema = z
  .object({
    topic: z.string(),
    partition: z.number().int(),
    records: z.array(
      z.object({
        offset: z.number().int(),
        timestamp: z.string(),
        key: TypedData.nullable(),
        value: z.union([TypedData, ReferencedData]).nullable(),
        headers: z.array(Header),
      }),
    ),
    nextOffset: z.number().int(),
    highWatermark: z.number().int(),
    logStartOffset: z.number().int(),
  })
  .meta({ id: 'FetchResponse' });

export const OffsetResponseSchema = z.object({ offset: z.number().int() }).meta({ id: 'OffsetResponse' });

export const HealthResponseSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    error_code: z.number().int(),
    field: z.string().optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details, with the Confluent REST Proxy error_code' });

// Consumer groups.

export const GroupName = z
  .string()
  .min(1)
  .max(LIMITS.groupNameLengthMax)
  .regex(/^[a-zA-Z0-9._-]+$/, "may contain only ASCII letters, digits, '.', '_' and '-'")
  .meta({ description: 'Consumer group id', example: 'billing' });

export const MemberId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9-]+$/, 'must be a member id returned by a join')
  .meta({ description: 'The member id a join returned', example: '5b1c0c1e-7d1f-4c3e-9b55-3c2a1f0e9d12' });

const Generation = z.number().int().min(0).meta({ description: 'The generation the member holds' });

const Offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const JoinGroupRequest = z
  .strictObject({
    topics: z.array(TopicName).min(1).max(LIMITS.groupTopicsPerMemberMax),
    memberId: MemberId.optional().meta({ description: 'A live member rejoining (to change topics)' }),
    sessionTimeoutMs: z
      .number()
      .int()
      .min(LIMITS.sessionTimeoutMsMin)
      .max(LIMITS.sessionTimeoutMsMax)
      .optional()
      .meta({
        description: `Dropped after this long without heartbeat or commit (default ${LIMITS.sessionTimeoutMsDefault})`,
      }),
  })
  .meta({ id: 'JoinGroupRequest' });

export const HeartbeatRequest = z.strictObject({ generation: Generation }).meta({ id: 'HeartbeatRequest' });

export const CommitOffsetsRequest = z
  .strictObject({
    memberId: MemberId.optional(),
    generation: Generation.optional(),
    offsets: z
      .array(
        z.strictObject({
          topic: TopicName,
          partition: z.number().int().min(0),
          offset: Offset.meta({ description: 'The next offset to read, at most the high watermark' }),
          metadata: z.string().max(LIMITS.commitMetadataLengthMax).optional(),
        }),
      )
      .min(1)
      .max(LIMITS.commitOffsetsPerRequestMax),
  })
  .meta({
    id: 'CommitOffsetsRequest',
    description:
      "Without memberId and generation: a standalone consumer's commit, allowed only while the group has no live members",
  });

export const TransactionRequest = z
  .strictObject({
    memberId: MemberId.optional(),
    generation: Generation.optional(),
    topics: z
      .array(
        z.strictObject({
          topic: TopicName,
          records: z.array(ProduceRecordSchema).min(1).max(LIMITS.recordsPerRequestMax),
        }),
      )
      .min(1)
      .max(LIMITS.transactionTopicsMax),
    offsets: CommitOffsetsRequest.shape.offsets,
  })
  .meta({
    id: 'TransactionRequest',
    description:
      `Records to append to each topic and the group's offsets to commit, in one DynamoDB transaction: all or nothing, fenced like a commit. ` +
      `At most ${LIMITS.transactionItemsMax} items: 1 for the group, 1 for the member, 1 per offset, 1 per partition written plus 1 per batch item (about ${LIMITS.batchItemBytesMax} encoded bytes), 1 for an Idempotency-Key; ` +
      `at most ${LIMITS.transactionBytesMax} stored bytes. Values inline only (no uploads)`,
  });

export const ResetOffsetsRequest = z
  .strictObject({
    topic: TopicName,
    to: z.union([
      z.literal('earliest'),
      z.literal('latest'),
      z.strictObject({ timestamp: Timestamp }),
      z.strictObject({ offset: Offset.meta({ description: 'Clamped to [logStartOffset, highWatermark]' }) }),
    ]),
    partitions: z.array(z.number().int().min(0)).min(1).max(LIMITS.partitionsMax).optional(),
  })
  .meta({ id: 'ResetOffsetsRequest' });

const TopicPartitionSchema = z.object({ topic: z.string(), partition: z.number().int() });

export const MemberAssignmentSchema = z
  .object({
    memberId: z.string(),
    generation: z.number().int(),
    assignments: z.array(TopicPartitionSchema),
    sessionTimeoutMs: z.number().int(),
  })
  .meta({ id: 'MemberAssignment' });

export const CommitResponseSchema = z
  .object({
    group: z.string(),
    generation: z.number().int(),
    offsets: z.array(z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() })),
  })
  .meta({ id: 'CommitResponse' });

export const TransactionResponseSchema = z
  .object({
    group: z.string(),
    generation: z.number().int(),
    topics: z.array(
      z.object({
        topic: z.string(),
        records: z.array(
          z.object({ partition: z.number().int(), offset: z.number().int(), timestamp: z.string() }),
        ),
      }),
    ),
    offsets: z.array(z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() })),
  })
  .meta({ id: 'TransactionResponse' });

export const GroupDescriptionSchema = z
  .object({
    group: z.string(),
    state: z.enum(['Empty', 'Stable', 'Rebalancing']),
    generation: z.number().int(),
    members: z.array(
      z.object({
        memberId: z.string(),
        topics: z.array(z.string()),
        sessionTimeoutMs: z.number().int(),
        joinedAt: z.string(),
        lastHeartbeat: z.string(),
        assignments: z.array(TopicPartitionSchema),
      }),
    ),
    offsets: z.array(
      z.object({
        topic: z.string(),
        partition: z.number().int(),
        committedOffset: z.number().int().nullable(),
        highWatermark: z.number().int(),
        lag: z.number().int().nullable(),
        metadata: z.string().nullable(),
      }),
    ),
    createdAt: z.string(),
  })
  .meta({ id: 'GroupDescription' });

export const GroupListSchema = z
  .object({ groups: z.array(z.object({ group: z.string(), createdAt: z.string() })) })
  .meta({ id: 'GroupList' });

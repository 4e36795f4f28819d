/**
 * Shoal's stateful layer: the two DynamoDB tables and the segment bucket. Everything here holds
 * data, so everything is retained when its stack is deleted and protected against deletion while it
 * lives; the functions and the API that use it are in a separate, freely replaceable stack.
 */
import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { LOG_TABLE, META_TABLE } from '../shared/adapters/dynamodb/table-schema.js';
import {
  PAYLOAD_KEY_PREFIX,
  payloadClassPrefix,
  RESCUE_KEY_PREFIX,
  RETENTION_CLASS_DAYS,
  RETENTION_CLASS_TAG,
  SEGMENT_KEY_PREFIX,
  UPLOAD_KEY_PREFIX,
} from '../shared/domain/segment-keys.js';

/** Settings of {@link ShoalStorage}. */
export interface ShoalStorageProps {
  /**
   * Whether DynamoDB refuses `DeleteTable` on the log and meta tables. Turn it off only to tear down
   * a test deployment on purpose (the tables are retained by CloudFormation either way).
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Bucket that receives the segment bucket's S3 server access logs, e.g. an organisation-wide
   * logging bucket. It must accept logs from `logging.s3.amazonaws.com`.
   * @default a new bucket, retained, whose objects expire after `accessLogsRetention`
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * How long server access logs stay in the bucket this construct creates. Only valid when
   * `accessLogsBucket` is not given: a bucket passed in keeps its own rules.
   * @default Duration.days(90)
   */
  readonly accessLogsRetention?: Duration;
  /**
   * How long an overwritten or deleted segment stays recoverable as a noncurrent object version
   * before S3 removes it (the bucket is versioned so that a buggy archiver, retention or reaper run
   * can be undone while its alarm is looked into). No guarantee of Shoal's rests on these versions,
   * and every day of them is billed like a day of retention, so the default is one day: a 7-day
   * topic pays for 8 days of segments, not 37. Raise it for a longer undo window.
   * @default Duration.days(1)
   */
  readonly noncurrentSegmentRetention?: Duration;
  /**
   * S3 Object Lock on the segment bucket: every segment version is protected against deletion and
   * overwrite for `retention` after it is written (WORM), for logs that must be kept by regulation.
   * `governance` lets principals with `s3:BypassGovernanceRetention` remove a version early;
   * `compliance` lets no one, the root user included. Retention and topic deletion still hide
   * segments (S3 delete markers); the versions themselves go only when their lock has expired, so
   * storage is billed until then. Object Lock can only be chosen when the bucket is created.
   * @default no Object Lock (versioning only)
   */
  readonly segmentObjectLock?: {
    readonly mode: 'governance' | 'compliance';
    /** Whole days, 1 to 3650. */
    readonly retention: Duration;
  };
}

const ACCESS_LOGS_RETENTION_DEFAULT = Duration.days(90);
const NONCURRENT_SEGMENT_RETENTION_DEFAULT = Duration.days(1);
/** S3 lifecycle rules count whole days; ten years bounds a typo such as days given as seconds. */
const LIFECYCLE_DAYS_MAX = 3650;
/** A multipart segment upload that has not completed after this long was abandoned by a crashed archiver. */
const ABORT_INCOMPLETE_UPLOAD_AFTER = Duration.days(7);

/**
 * The log table, the meta table and the segment bucket, with the protections a durable log needs:
 * point-in-time recovery, deletion protection, retention on stack deletion, TLS-only and private
 * buckets, versioned segments and server access logs.
 *
 * Its resources have generated names; {@link ShoalApi} passes them to the functions through the
 * environment variables of `shared/config.ts`.
 *
 * @example
 * const storage = new ShoalStorage(stack, 'Storage');
 * new ShoalApi(stack, 'Api', { storage });
 */
export class ShoalStorage extends Construct {
  /** One item per stored batch; its stream carries TTL deletions for the archiver's rescue path. */
  readonly logTable: dynamodb.Table;
  /** Topics, partition heads, idempotency keys, consumer groups and offsets. */
  readonly metaTable: dynamodb.Table;
  /** Archived segments (one object per contiguous offset range of one partition). */
  readonly segmentBucket: s3.Bucket;
  /** Where the segment bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Read access to the segments, as a managed policy in this construct's stack: attach it to a role
   * in any stack. It lives next to the bucket so that its cdk-nag acknowledgements can name the
   * bucket (a cross-stack reference renders differently in every consuming stack).
   */
  readonly segmentReadPolicy: iam.ManagedPolicy;
  /**
   * The archiver's access to the bucket: write, tag and delete `segments/`; read, list and delete
   * `rescue/`. A managed policy in this stack for the same reason as {@link segmentReadPolicy}.
   */
  readonly segmentArchivePolicy: iam.ManagedPolicy;
  /** The TTL rescue's access to the bucket: write `rescue/`, nothing else. */
  readonly segmentRescuePolicy: iam.ManagedPolicy;
  /** Write the payload objects of large appends (`payloads/`): the produce function's. */
  readonly payloadWritePolicy: iam.ManagedPolicy;
  /** List and delete what deleted topics left under `segments/`, `rescue/` and `payloads/`: the reaper's. */
  readonly topicReapPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ShoalStorageProps = {}) {
    super(scope, id);
    validateProps(props);
    // The access logs bucket enforces bucket-owner object ownership (no ACLs), so log delivery must be
    // granted by bucket policy, whatever the embedding app's feature flags say.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const deletionProtection = props.deletionProtection ?? true;

    this.logTable = new dynamodb.Table(this, 'LogTable', {
      partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LOG_TABLE.sortKey, type: dynamodb.AttributeType.NUMBER },
      timeToLiveAttribute: LOG_TABLE.ttlAttribute,
      stream: dynamodb.StreamViewType[LOG_TABLE.streamView],
      ...tableProtections(deletionProtection),
    });

    this.metaTable = new dynamodb.Table(this, 'MetaTable', {
      partitionKey: { name: META_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: META_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: META_TABLE.ttlAttribute,
      ...tableProtections(deletionProtection),
    });

    this.accessLogsBucket =
      props.accessLogsBucket ??
      this.createAccessLogsBucket(props.accessLogsRetention ?? ACCESS_LOGS_RETENTION_DEFAULT);

    this.segmentBucket = this.createSegmentBucket(props);
    this.segmentReadPolicy = this.createSegmentReadPolicy();
    this.segmentArchivePolicy = this.createSegmentArchivePolicy();
    this.segmentRescuePolicy = this.createSegmentRescuePolicy();
    this.payloadWritePolicy = this.createPayloadWritePolicy();
    this.topicReapPolicy = this.createTopicReapPolicy();
  }
  /** The versioned segment bucket, its access logs, retention rules and optional Object Lock. */
  private createSegmentBucket(props: ShoalStorageProps): s3.Bucket {
    return new s3.Bucket(this, 'SegmentBucket', {
      ...bucketProtections(),
      versioned: true,
      ...(props.segmentObjectLock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              props.segmentObjectLock.mode === 'compliance'
                ? s3.ObjectLockRetention.compliance(props.segmentObjectLock.retention)
                : s3.ObjectLockRetention.governance(props.segmentObjectLock.retention),
          }
        : {}),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'segment-bucket/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-segments',
          noncurrentVersionExpiration:
            props.noncurrentSegmentRetention ?? NONCURRENT_SEGMENT_RETENTION_DEFAULT,
          expiredObjectDeleteMarker: true,
        },
        {
          id: 'abort-incomplete-uploads',
          abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOAD_AFTER,
        },
        ...segmentExpirationRules(),
        ...payloadExpirationRules(),
        ...uploadExpirationRules(),
      ],
    });
  }

  /** Read access to every segment. */
  private createSegmentReadPolicy(): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'SegmentReadPolicy', {
      description: 'Read Shoal segments (fetches that reach below the DynamoDB tier)',
    });
    this.segmentBucket.grantRead(policy);
    this.acknowledgeGrantWildcards(policy, this.segmentBucket, ['GetObject*', 'GetBucket*', 'List*']);
    return policy;
  }

  /** The archiver's access: segments and rescued batches, by key prefix. */
  private createSegmentArchivePolicy(): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'SegmentArchivePolicy', {
      description:
        'Write and delete Shoal segments; read and delete batches rescued from the TTL stream; read payload objects',
    });
    this.segmentBucket.grantPut(policy, `${SEGMENT_KEY_PREFIX}*`);
    this.segmentBucket.grantDelete(policy, `${SEGMENT_KEY_PREFIX}*`);
    this.segmentBucket.grantRead(policy, `${RESCUE_KEY_PREFIX}*`);
    this.segmentBucket.grantDelete(policy, `${RESCUE_KEY_PREFIX}*`);
    // Batches of large appends are read from their payload objects when they are archived.
    this.segmentBucket.grantRead(policy, `${PAYLOAD_KEY_PREFIX}*`);
    this.acknowledgePrefixGrants(
      policy,
      ['Abort*', 'DeleteObject*', 'GetObject*', 'GetBucket*', 'List*'],
      [SEGMENT_KEY_PREFIX, RESCUE_KEY_PREFIX, PAYLOAD_KEY_PREFIX],
    );
    return policy;
  }

  /** The TTL rescue's access: write rescued batches, nothing else. */
  private createSegmentRescuePolicy(): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'SegmentRescuePolicy', {
      description: 'Store batches that DynamoDB TTL deleted before they were archived',
    });
    this.segmentBucket.grantPut(policy, `${RESCUE_KEY_PREFIX}*`);
    // A removed batch of a large append has its bytes in a payload object.
    this.segmentBucket.grantRead(policy, `${PAYLOAD_KEY_PREFIX}*`);
    this.acknowledgePrefixGrants(
      policy,
      ['Abort*', 'GetObject*', 'GetBucket*', 'List*'],
      [RESCUE_KEY_PREFIX, PAYLOAD_KEY_PREFIX],
    );
    return policy;
  }

  /**
   * The produce function's access: write the payload objects of large appends; sign the upload URLs
   * of record values (a presigned PUT acts with the signer's rights) and read those uploads.
   */
  private createPayloadWritePolicy(): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'PayloadWritePolicy', {
      description:
        'Write the payload objects of large Shoal appends (their batch items point into them); presign and read uploads of record values',
    });
    this.segmentBucket.grantPut(policy, `${PAYLOAD_KEY_PREFIX}*`);
    this.segmentBucket.grantPut(policy, `${UPLOAD_KEY_PREFIX}*`);
    this.segmentBucket.grantRead(policy, `${UPLOAD_KEY_PREFIX}*`);
    this.acknowledgePrefixGrants(
      policy,
      ['Abort*', 'GetObject*', 'GetBucket*', 'List*'],
      [PAYLOAD_KEY_PREFIX, UPLOAD_KEY_PREFIX],
    );
    return policy;
  }

  /**
   * The reaper's access: list and delete the objects of deleted topics, which live under three
   * prefixes (`segment-keys.ts`), and read none.
   */
  private createTopicReapPolicy(): iam.ManagedPolicy {
    const prefixes = [SEGMENT_KEY_PREFIX, RESCUE_KEY_PREFIX, PAYLOAD_KEY_PREFIX];
    const policy = new iam.ManagedPolicy(this, 'TopicReapPolicy', {
      description:
        'List and delete the segments, rescued batches and payload objects of deleted Shoal topics',
    });
    policy.addStatements(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.segmentBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
      }),
    );
    for (const prefix of prefixes) this.segmentBucket.grantDelete(policy, `${prefix}*`);
    this.acknowledgePrefixGrants(policy, ['DeleteObject*'], prefixes);
    return policy;
  }

  /**
   * The tiered storage grants use the bucket's grant methods scoped to one key prefix each; their
   * action families and `<prefix>*` resources are acknowledged as the read policy's are.
   */
  private acknowledgePrefixGrants(
    policy: iam.ManagedPolicy,
    actions: readonly string[],
    prefixes: readonly string[],
  ): void {
    const reason =
      'Action families of the IBucket grant methods (multipart abort, object-version deletes, reads), scoped to ' +
      'one key prefix of the one segment bucket; object keys are created at run time, so they can only be named ' +
      'by prefix.';
    const bucketLogicalId = Stack.of(this.segmentBucket).resolve(
      (this.segmentBucket.node.defaultChild as s3.CfnBucket).logicalId,
    );
    Validations.of(policy).acknowledge(
      ...actions.map((action) => ({ id: `AwsSolutions-IAM5[Action::s3:${action}]`, reason })),
      ...prefixes.map((prefix) => ({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason,
      })),
    );
  }

  /**
   * The access-log destination has no access logs of its own (they would log every log delivery);
   * cdk-nag's S1 rule accepts a bucket that receives another bucket's logs.
   */
  private createAccessLogsBucket(retention: Duration): s3.Bucket {
    return new s3.Bucket(this, 'AccessLogsBucket', {
      ...bucketProtections(),
      lifecycleRules: [{ id: 'expire-access-logs', expiration: retention }],
    });
  }

  /**
   * `IBucket.grantRead` uses the action families `s3:GetObject*`, `s3:GetBucket*` and `s3:List*`
   * (all read-only) and must name the bucket's objects with `/*` because segment keys are created
   * at run time. cdk-nag v3 matches each finding exactly, so the object resource is named the way
   * cdk-nag renders a same-stack `Fn::GetAtt`: `<LogicalId.Arn>/*`.
   */
  private acknowledgeGrantWildcards(
    policy: iam.ManagedPolicy,
    bucket: s3.Bucket,
    actions: readonly string[],
  ): void {
    const reason =
      'Read-only action families from IBucket.grantRead, scoped to the one segment bucket; object keys are ' +
      'created by the archiver at run time, so objects can only be named with a wildcard.';
    const bucketLogicalId = Stack.of(bucket).resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId);
    Validations.of(policy).acknowledge(
      ...actions.map((action) => ({ id: `AwsSolutions-IAM5[Action::s3:${action}]`, reason })),
      { id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/*]`, reason },
    );
  }
}

/**
 * The backstop of retention: the archiver deletes segments past their topic's retention, and tags
 * each segment with a retention class (`segment-keys.ts`) at least a day longer than that
 * retention; one rule per class expires what the archiver, for whatever reason, left behind.
 * Rescued batches (`rescue/`) never expire: they wait for the archiver, however late it is.
 */
function segmentExpirationRules(): s3.LifecycleRule[] {
  return RETENTION_CLASS_DAYS.map((days) => ({
    id: `expire-segments-${days}d`,
    prefix: SEGMENT_KEY_PREFIX,
    tagFilters: { [RETENTION_CLASS_TAG]: String(days) },
    expiration: Duration.days(days),
  }));
}

/**
 * Payload objects (`payloads/<days>d/`) are written under a retention class that outlives every
 * reader of the batch items pointing into them (`payloadRetentionClassDays`), and always one that
 * expires: these rules are how they are deleted, including the object of an append that never
 * committed. By key prefix, so no object tag is paid for; nothing ever overwrites a payload object,
 * so the version that expiration leaves behind goes a day later.
 */
function payloadExpirationRules(): s3.LifecycleRule[] {
  return [
    ...RETENTION_CLASS_DAYS.map((days) => ({
      id: `expire-payloads-${days}d`,
      prefix: payloadClassPrefix(days),
      expiration: Duration.days(days),
    })),
    {
      id: 'expire-noncurrent-payloads',
      prefix: PAYLOAD_KEY_PREFIX,
      noncurrentVersionExpiration: Duration.days(1),
    },
  ];
}

/**
 * Uploads of record values (`uploads/`) are copied into a payload object by the produce that names
 * them and never read again (a retry with its Idempotency-Key is answered from the key), so every
 * upload goes a day after it was made, used or not: nothing a client uploads stays for good.
 */
function uploadExpirationRules(): s3.LifecycleRule[] {
  return [
    {
      id: 'expire-uploads',
      prefix: UPLOAD_KEY_PREFIX,
      expiration: Duration.days(1),
      noncurrentVersionExpiration: Duration.days(1),
    },
  ];
}

function tableProtections(deletionProtection: boolean): Partial<dynamodb.TableProps> {
  return {
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

function bucketProtections(): Partial<s3.BucketProps> {
  return {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

function validateProps(props: ShoalStorageProps): void {
  if (props.accessLogsBucket && props.accessLogsRetention) {
    throw new Error(
      `accessLogsRetention (${props.accessLogsRetention.toHumanString()}) applies only to the access logs ` +
        'bucket ShoalStorage creates; set the expiry on the accessLogsBucket you pass instead',
    );
  }
  validateLifecycleDays('accessLogsRetention', props.accessLogsRetention);
  validateLifecycleDays('noncurrentSegmentRetention', props.noncurrentSegmentRetention);
  validateLifecycleDays('segmentObjectLock.retention', props.segmentObjectLock?.retention);
}

function validateLifecycleDays(name: string, value: Duration | undefined): void {
  if (value === undefined || value.isUnresolved()) return;
  const days = value.toHours({ integral: false }) / 24;
  if (!Number.isInteger(days) || days < 1 || days > LIFECYCLE_DAYS_MAX) {
    throw new Error(
      `${name} must be a whole number of days from 1 to ${LIFECYCLE_DAYS_MAX}, got ${value.toHumanString()}`,
    );
  }
}

/** Settings of {@link ShoalStatefulStack}: the stack's own settings plus those of its storage. */
export interface ShoalStatefulStackProps extends StackProps {
  /**
   * Settings of the tables and buckets.
   * @default the {@link ShoalStorageProps} defaults
   */
  readonly storage?: ShoalStorageProps;
}

/**
 * The stack that holds Shoal's data. Deploy it once and rarely change it; the stateless stack can be
 * replaced or destroyed without touching a record.
 */
export class ShoalStatefulStack extends Stack {
  readonly storage: ShoalStorage;

  constructor(scope: Construct, id: string, props: ShoalStatefulStackProps = {}) {
    const { storage, ...stackProps } = props;
    super(scope, id, {
      description: 'Shoal event log: tables and segment bucket (stateful, retained)',
      ...stackProps,
    });
    this.storage = new ShoalStorage(this, 'Storage', storage);
  }
}

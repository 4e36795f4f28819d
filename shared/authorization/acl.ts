/**
 * Shoal's authorization model, after Kafka's ACLs: a principal is allowed an operation on a
 * resource (a topic, a consumer group, or the cluster), named literally, by prefix, or by `*`.
 * Every route of the API names the one permission it needs, so the same table drives the JWT
 * authorizer's decisions (`functions/authorize-token.ts`) and the IAM policies that grant
 * `execute-api:Invoke` (`iam-policy.ts`).
 *
 * What the gateway can check is what the URL names: a commit is checked against its group, not
 * against the topics in its body; creating a topic needs Create on the cluster because the topic's
 * name is in the body. `docs/authorization.md` lists every route with its permission.
 */
import type { OperationId, Route } from '../http/route-table.js';

/** Kafka's resource types that Shoal's API exposes. */
export type AclResourceType = 'topic' | 'group' | 'cluster';

/** Kafka's operations that Shoal's API uses; `All` grants every one of them. */
export type AclOperation = 'Read' | 'Write' | 'Create' | 'Delete' | 'Alter' | 'Describe' | 'All';

export const ACL_OPERATIONS: readonly AclOperation[] = [
  'Read',
  'Write',
  'Create',
  'Delete',
  'Alter',
  'Describe',
  'All',
];

/**
 * One allow rule: `operation` on resources of `resourceType` whose name matches `pattern`.
 *
 * Patterns follow Kafka's pattern types: a literal name (`orders`), a prefix ending in `*`
 * (`orders.*` matches `orders.eu` and `orders.`; Kafka's PREFIXED), or `*` alone (every name).
 * The cluster has no name: its pattern is always `*`. There are no deny rules.
 */
export interface AclEntry {
  readonly resourceType: AclResourceType;
  readonly pattern: string;
  readonly operation: AclOperation;
}

/**
 * What one route needs. Path parameters name the resource; `authenticated` routes need any valid
 * identity; `public` routes need none (API Gateway authorizes nothing for them: they reveal nothing).
 */
export type AclRequirement =
  | { readonly resourceType: 'topic'; readonly parameter: 'topic'; readonly operation: AclOperation }
  | { readonly resourceType: 'group'; readonly parameter: 'group'; readonly operation: AclOperation }
  | { readonly resourceType: 'cluster'; readonly operation: AclOperation }
  | { readonly resourceType: 'authenticated' }
  | { readonly resourceType: 'public' };

const topic = (operation: AclOperation): AclRequirement => ({
  resourceType: 'topic',
  parameter: 'topic',
  operation,
});
const group = (operation: AclOperation): AclRequirement => ({
  resourceType: 'group',
  parameter: 'group',
  operation,
});
const cluster = (operation: AclOperation): AclRequirement => ({ resourceType: 'cluster', operation });

/**
 * The permission each route needs, typed by `OperationId` so that a route added to the table does
 * not compile until its permission is decided here. Kafka's own requirements where it has them:
 * Produce needs Write on the topic, Fetch needs Read, ListOffsets and Metadata need Describe,
 * JoinGroup/Heartbeat/LeaveGroup/OffsetCommit need Read on the group, CreateTopics needs Create on
 * the cluster, ListGroups needs Describe on the cluster. A subscription makes Shoal invoke a
 * function of the caller's choosing with a topic's records, so managing one is cluster Alter.
 */
export const ROUTE_ACL: Readonly<Record<OperationId, AclRequirement>> = {
  // `{"status":"ok"}` from the function, touching no data: a load balancer or uptime check needs no key.
  getHealth: { resourceType: 'public' },
  getOpenApi: { resourceType: 'authenticated' },
  createTopic: cluster('Create'),
  listTopics: cluster('Describe'),
  describeTopic: topic('Describe'),
  updateTopic: topic('Alter'),
  deleteTopic: topic('Delete'),
  produceRecords: topic('Write'),
  createUpload: topic('Write'),
  fetchRecords: topic('Read'),
  offsetForTimestamp: topic('Describe'),
  listGroups: cluster('Describe'),
  describeGroup: group('Describe'),
  deleteGroup: group('Delete'),
  joinGroup: group('Read'),
  heartbeatGroup: group('Read'),
  leaveGroup: group('Read'),
  commitOffsets: group('Read'),
  // Write on the group, not Read: the topics it appends to are in the body, which the gateway
  // cannot check, so the right to produce as the group is granted apart from consuming in it.
  produceTransaction: group('Write'),
  resetOffsets: group('Read'),
  createSubscription: cluster('Alter'),
  listSubscriptions: cluster('Describe'),
  describeSubscription: cluster('Describe'),
  deleteSubscription: cluster('Alter'),
};

/** The permission a route needs. */
export function requirementOf(route: Route): AclRequirement {
  return ROUTE_ACL[route.operationId as OperationId];
}

/** Operations that imply Describe, as in Kafka. */
const IMPLIES_DESCRIBE: ReadonlySet<AclOperation> = new Set(['Read', 'Write', 'Delete', 'Alter']);

/** Whether holding `granted` allows `required` (Kafka: All implies everything; Read, Write, Delete and Alter imply Describe). */
export function implies(granted: AclOperation, required: AclOperation): boolean {
  return (
    granted === required || granted === 'All' || (required === 'Describe' && IMPLIES_DESCRIBE.has(granted))
  );
}

/** Resource names are topic and group names: `[a-zA-Z0-9._-]`, at most this long. */
const NAME_LENGTH_MAX = 249;
const PATTERN = /^(\*|[a-zA-Z0-9._-]+\*?)$/;
const NAME = /^[a-zA-Z0-9._-]+$/;
/** A principal's ACL is bounded: a token or a policy carries at most this many entries. */
export const ACL_ENTRIES_MAX = 100;

/** Whether `name` is a topic or group name an ACL can speak about. */
export function isResourceName(name: string): boolean {
  return name.length <= NAME_LENGTH_MAX && NAME.test(name);
}

/** Whether a pattern (literal, `prefix*` or `*`) matches a concrete name. */
export function patternMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/** Whether every name matched by `inner` is matched by `outer`. */
export function patternCovers(outer: string, inner: string): boolean {
  if (outer === '*') return true;
  if (inner === '*') return false;
  if (!outer.endsWith('*')) return outer === inner;
  const prefix = outer.slice(0, -1);
  return inner.startsWith(prefix);
}

/** Whether some name is matched by both patterns. */
export function patternsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  const aPrefix = a.endsWith('*');
  const bPrefix = b.endsWith('*');
  if (!aPrefix && !bPrefix) return a === b;
  if (aPrefix && !bPrefix) return b.startsWith(a.slice(0, -1));
  if (!aPrefix && bPrefix) return a.startsWith(b.slice(0, -1));
  const pa = a.slice(0, -1);
  const pb = b.slice(0, -1);
  return pa.startsWith(pb) || pb.startsWith(pa);
}

/**
 * Parses `<resourceType>:<pattern>:<operation>`, e.g. `topic:orders:Write`, `group:billing-*:Read`,
 * `cluster:*:Create`. Returns undefined for anything else, so that a token's unrelated scopes
 * (`openid`, `email`) are ignored rather than fatal.
 */
export function parseAclEntry(text: string): AclEntry | undefined {
  const parts = text.split(':');
  if (parts.length !== 3) return undefined;
  const [resourceType, pattern, operation] = parts as [string, string, string];
  if (resourceType !== 'topic' && resourceType !== 'group' && resourceType !== 'cluster') return undefined;
  if (!ACL_OPERATIONS.includes(operation as AclOperation)) return undefined;
  if (pattern.length > NAME_LENGTH_MAX + 1 || !PATTERN.test(pattern)) return undefined;
  if (resourceType === 'cluster' && pattern !== '*') return undefined;
  return { resourceType, pattern, operation: operation as AclOperation };
}

/** The text form {@link parseAclEntry} reads. */
export function formatAclEntry(entry: AclEntry): string {
  return `${entry.resourceType}:${entry.pattern}:${entry.operation}`;
}

/**
 * Parses a list of entries, failing on the first malformed one (for configuration, where a typo
 * must not silently grant less).
 * @throws Error naming the entry
 */
export function parseAcl(texts: readonly string[]): AclEntry[] {
  if (texts.length > ACL_ENTRIES_MAX) {
    throw new Error(`An ACL holds at most ${ACL_ENTRIES_MAX} entries, got ${texts.length}`);
  }
  return texts.map((text) => {
    const entry = parseAclEntry(text);
    if (!entry) {
      throw new Error(
        `"${text}" is not an ACL entry: expected <topic|group|cluster>:<name, prefix* or *>:<${ACL_OPERATIONS.join('|')}> ` +
          '(the cluster is always named *)',
      );
    }
    return entry;
  });
}

/** Whether an ACL allows a route for the given path parameters (names already decoded). */
export function isAllowed(
  acl: readonly AclEntry[],
  requirement: AclRequirement,
  pathParameters: Readonly<Record<string, string>>,
): boolean {
  switch (requirement.resourceType) {
    case 'public':
    case 'authenticated':
      return true;
    case 'cluster':
      return acl.some(
        (entry) => entry.resourceType === 'cluster' && implies(entry.operation, requirement.operation),
      );
    case 'topic':
    case 'group': {
      const name = pathParameters[requirement.parameter];
      if (name === undefined || !isResourceName(name)) return false;
      return acl.some(
        (entry) =>
          entry.resourceType === requirement.resourceType &&
          implies(entry.operation, requirement.operation) &&
          patternMatches(entry.pattern, name),
      );
    }
  }
}

/** Ready-made ACLs for the usual principals (the ones `docs/authorization.md` shows as IAM policies). */
export const ACL_PRESETS = {
  /** Produce to one topic (Write implies the Describe a producer needs to learn the partitions). */
  producer: (topicPattern: string): AclEntry[] => [
    { resourceType: 'topic', pattern: topicPattern, operation: 'Write' },
  ],
  /** Fetch one topic and consume it as one group: join, heartbeat, commit, leave, describe. */
  consumer: (topicPattern: string, groupPattern: string): AclEntry[] => [
    { resourceType: 'topic', pattern: topicPattern, operation: 'Read' },
    { resourceType: 'group', pattern: groupPattern, operation: 'Read' },
  ],
  /** Read-only view of metadata and lag, no records: dashboards and lag exporters. */
  monitor: (): AclEntry[] => [
    { resourceType: 'cluster', pattern: '*', operation: 'Describe' },
    { resourceType: 'topic', pattern: '*', operation: 'Describe' },
    { resourceType: 'group', pattern: '*', operation: 'Describe' },
  ],
  /** Everything. */
  admin: (): AclEntry[] => [
    { resourceType: 'cluster', pattern: '*', operation: 'All' },
    { resourceType: 'topic', pattern: '*', operation: 'All' },
    { resourceType: 'group', pattern: '*', operation: 'All' },
  ],
} as const;

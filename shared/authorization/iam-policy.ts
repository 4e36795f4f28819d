/**
 * Turns an ACL into the `execute-api:Invoke` resources of an IAM policy: one resource per route the
 * ACL allows, `<stage>/<METHOD>/<path>` with the route's resource named in the path.
 *
 * The catch is IAM's wildcard: `*` in an ARN matches any characters, `/` included. A grant of
 * Describe on every topic, `GET/v1/topics/*`, also matches `GET/v1/topics/orders/partitions/0/records`,
 * a fetch, which needs Read. Where a wildcard resource reaches another route of the same method
 * that the ACL does not allow for any of the names concerned, this module adds a Deny for exactly
 * that route and those names. Where the ACL allows it for some of those names only, no IAM policy
 * can say so and {@link executeApiResources} throws; name the resources literally or use the JWT
 * authorizer, which decides per request.
 */
import { type HttpMethod, ROUTES, type Route } from '../http/route-table.js';
import {
  type AclEntry,
  type AclRequirement,
  implies,
  patternCovers,
  patternsOverlap,
  requirementOf,
} from './acl.js';

/** One method and resource path of the API, with `*` wildcards as IAM reads them. */
export interface MethodPath {
  readonly method: HttpMethod;
  /** Starts with `/`, e.g. `/v1/topics/orders/records`. */
  readonly path: string;
}

/** The resources to allow and to deny, ready for `RestApi.arnForExecuteApi(method, path, stage)`. */
export interface ExecuteApiResources {
  readonly allow: readonly MethodPath[];
  readonly deny: readonly MethodPath[];
}

/** Values of a route's path parameters: a name, a `prefix*`, or `*`. */
type Bindings = Readonly<Record<string, string>>;

interface Grant {
  readonly route: Route;
  readonly bindings: Bindings;
}

/**
 * The allow and deny resources that grant exactly what `acl` allows.
 *
 * @example
 * executeApiResources([{ resourceType: 'topic', pattern: 'orders', operation: 'Write' }]).allow
 * // [{ method: 'GET', path: '/v1/health' }, ..., { method: 'POST', path: '/v1/topics/orders/records' }]
 * @throws Error when a wildcard cannot be confined to what the ACL allows (see the module comment)
 */
export function executeApiResources(acl: readonly AclEntry[]): ExecuteApiResources {
  const grants = ROUTES.flatMap((route) => grantsFor(route, acl));
  const deny: Grant[] = [];
  for (const grant of grants) {
    const resource = pathOf(grant.route, grant.bindings);
    if (!resource.includes('*')) continue;
    for (const other of ROUTES) {
      if (other === grant.route || other.method !== grant.route.method) continue;
      const bindings = sharedBindings(grant, other);
      if (!globMatches(resource, samplePath(other, bindings))) continue;
      const coverage = coverageOf(requirementOf(other), bindings, acl);
      if (coverage === 'all') continue;
      if (coverage === 'some') {
        throw new Error(
          `IAM cannot express this ACL: ${grant.route.method} ${resource} (${grant.route.operationId}) also ` +
            `matches ${other.operationId} (${other.method} ${other.path}), which the ACL allows for some of ` +
            'those names only. Name the resources literally, or use the JWT authorizer, which decides per request.',
        );
      }
      deny.push({ route: other, bindings });
    }
  }
  return { allow: unique(grants), deny: unique(deny) };
}

/** The grants of one route: one per ACL entry that satisfies it, minus those another one covers. */
function grantsFor(route: Route, acl: readonly AclEntry[]): Grant[] {
  const requirement = requirementOf(route);
  const wildcards = Object.fromEntries(parametersOf(route).map((name) => [name, '*']));
  switch (requirement.resourceType) {
    case 'public':
      // The method authorizes nothing (AuthorizationType NONE): no policy needs to name it.
      return [];
    case 'authenticated':
      return acl.length > 0 ? [{ route, bindings: wildcards }] : [];
    case 'cluster':
      return acl.some(
        (entry) => entry.resourceType === 'cluster' && implies(entry.operation, requirement.operation),
      )
        ? [{ route, bindings: wildcards }]
        : [];
    case 'topic':
    case 'group': {
      const patterns = acl
        .filter(
          (entry) =>
            entry.resourceType === requirement.resourceType &&
            implies(entry.operation, requirement.operation),
        )
        .map((entry) => entry.pattern);
      const kept = patterns.filter(
        (pattern, index) =>
          !patterns.some(
            (other, otherIndex) =>
              otherIndex !== index &&
              patternCovers(other, pattern) &&
              (!patternCovers(pattern, other) || otherIndex < index),
          ),
      );
      return kept.map((pattern) => ({ route, bindings: { ...wildcards, [requirement.parameter]: pattern } }));
    }
  }
}

/** How much of a route, restricted to `bindings`, the ACL allows. */
function coverageOf(
  requirement: AclRequirement,
  bindings: Bindings,
  acl: readonly AclEntry[],
): 'all' | 'some' | 'none' {
  switch (requirement.resourceType) {
    case 'public':
    case 'authenticated':
      return 'all';
    case 'cluster':
      return acl.some(
        (entry) => entry.resourceType === 'cluster' && implies(entry.operation, requirement.operation),
      )
        ? 'all'
        : 'none';
    case 'topic':
    case 'group': {
      const bound = bindings[requirement.parameter] ?? '*';
      const relevant = acl.filter(
        (entry) =>
          entry.resourceType === requirement.resourceType && implies(entry.operation, requirement.operation),
      );
      if (relevant.some((entry) => patternCovers(entry.pattern, bound))) return 'all';
      return relevant.some((entry) => patternsOverlap(entry.pattern, bound)) ? 'some' : 'none';
    }
  }
}

/** `other`'s parameters bound as `grant` binds the same names; the rest `*`. */
function sharedBindings(grant: Grant, other: Route): Bindings {
  return Object.fromEntries(parametersOf(other).map((name) => [name, grant.bindings[name] ?? '*']));
}

function parametersOf(route: Route): string[] {
  return [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
}

/** The route's path with each `{parameter}` replaced by its binding. */
export function pathOf(route: Route, bindings: Bindings): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => bindings[name] ?? '*');
}

/** A concrete path of `route` whose names match `bindings` (to test what a wildcard reaches). */
function samplePath(route: Route, bindings: Bindings): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const binding = bindings[name] ?? '*';
    return binding.endsWith('*') ? `${binding.slice(0, -1)}x` : binding;
  });
}

/** IAM's ARN matching: `*` is any run of characters (`/` included), `?` any one character. */
function globMatches(pattern: string, value: string): boolean {
  const expression = pattern
    .split('')
    .map((character) =>
      character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${expression}$`, 's').test(value);
}

function unique(grants: readonly Grant[]): MethodPath[] {
  const seen = new Map<string, MethodPath>();
  for (const { route, bindings } of grants) {
    const path = pathOf(route, bindings);
    seen.set(`${route.method} ${path}`, { method: route.method, path });
  }
  return [...seen.values()];
}

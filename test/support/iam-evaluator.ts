/**
 * A tiny IAM policy evaluator for `execute-api:Invoke`, written apart from the code that generates
 * the policies so that the tests do not grade the generator with its own logic. It follows IAM's
 * evaluation for identity policies: an explicit Deny wins, then any Allow, else the implicit deny.
 * ARN matching is IAM's: case-sensitive, `*` any run of characters including `/`, `?` one character.
 * Conditions, NotAction and NotResource are not used by Shoal's policies; meeting one fails loudly.
 */

export interface StatementJson {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly [key: string]: unknown;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** IAM's wildcard match, implemented character by character (no regular expressions). */
export function iamGlob(pattern: string, value: string): boolean {
  // Classic two-pointer wildcard matching with backtracking to the last `*`.
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = v;
    } else if (star !== -1) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

const list = (value: string | readonly string[]): readonly string[] =>
  typeof value === 'string' ? [value] : value;

/** The decision of a set of statements (all the policies of one principal) for one request. */
export function evaluate(statements: readonly StatementJson[], action: string, resource: string): Decision {
  let allowed = false;
  for (const statement of statements) {
    for (const key of ['Condition', 'NotAction', 'NotResource', 'NotPrincipal']) {
      if (key in statement) throw new Error(`The evaluator does not support ${key}`);
    }
    const matches =
      list(statement.Action).some((pattern) => iamGlob(pattern.toLowerCase(), action.toLowerCase())) &&
      list(statement.Resource).some((pattern) => iamGlob(pattern, resource));
    if (!matches) continue;
    if (statement.Effect === 'Deny') return 'ExplicitDeny';
    allowed = true;
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}

/**
 * Resolves the CloudFormation intrinsics of a synthesized policy (`Fn::Join`, `Ref`) with fixed
 * values for pseudo parameters and logical ids, giving the ARNs IAM would see after deployment.
 */
export function resolveIntrinsics(value: unknown, refs: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, refs));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) {
    const resolved = refs[object.Ref as string];
    if (resolved === undefined) throw new Error(`No value for Ref ${String(object.Ref)}`);
    return resolved;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveIntrinsics(part, refs)).join(separator);
  }
  for (const key of Object.keys(object)) {
    if (key.startsWith('Fn::')) throw new Error(`The resolver does not support ${key}`);
  }
  return Object.fromEntries(
    Object.entries(object).map(([key, item]) => [key, resolveIntrinsics(item, refs)]),
  );
}

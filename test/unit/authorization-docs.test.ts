import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAcl } from '../../shared/authorization/acl.js';
import { executeApiResources } from '../../shared/authorization/iam-policy.js';

const DOC = readFileSync(new URL('../../docs/authorization.md', import.meta.url), 'utf8');
const POLICY = /<!-- policy for: (.+?) -->\n```json\n([\s\S]+?)\n```/g;

/** The policy the page should show for an ACL, with the page's placeholders. */
function expectedPolicy(acl: string): unknown {
  const { allow, deny } = executeApiResources(parseAcl(acl.split(' ')));
  const arns = (resources: typeof allow) =>
    resources.map(
      (resource) => `arn:aws:execute-api:REGION:ACCOUNT:API_ID/prod/${resource.method}${resource.path}`,
    );
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: arns(allow) },
      ...(deny.length > 0 ? [{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: arns(deny) }] : []),
    ],
  };
}

describe('docs/authorization.md', () => {
  const policies = [...DOC.matchAll(POLICY)].map((match) => ({
    acl: match[1] as string,
    json: match[2] as string,
  }));

  it('shows the four documented policies', () => {
    expect(policies.map((policy) => policy.acl)).toEqual([
      'topic:orders:Write',
      'topic:orders:Read group:billing:Read',
      'cluster:*:All topic:*:All group:*:All',
      'cluster:*:Describe topic:*:Describe group:*:Describe',
    ]);
  });

  it('shows exactly what the generator produces for each ACL', () => {
    for (const { acl, json } of policies) {
      expect(JSON.parse(json), acl).toEqual(expectedPolicy(acl));
    }
  });
});

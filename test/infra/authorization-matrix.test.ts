/**
 * The authorization matrix: principal x resource x operation, decided three ways that must agree.
 * 1. The ACL model (`isAllowed`), and for the documented principals a table written by hand.
 * 2. The synthesized IAM policies (`ShoalAccessPolicy`), resolved to real ARNs and evaluated by an
 *    independent evaluator of IAM's wildcard rules.
 * 3. The JWT authorizer's answers for a token carrying the same ACL, whose policy is evaluated too.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AuthorizerHandler, createAuthorizer } from '../../functions/authorize-token.js';
import { ShoalAccessPolicy } from '../../infra/authorization.js';
import {
  ACL_PRESETS,
  type AclEntry,
  formatAclEntry,
  isAllowed,
  parseAcl,
  requirementOf,
} from '../../shared/authorization/acl.js';
import { executeApiResources } from '../../shared/authorization/iam-policy.js';
import { ROUTES, type Route } from '../../shared/http/route-table.js';
import { evaluate, resolveIntrinsics, type StatementJson } from '../support/iam-evaluator.js';
import { AUDIENCE, hs256Key, ISSUER, NOW_S, signJwt, validClaims } from '../support/jwt.js';
import { CDK_CONTEXT } from './shoal-app.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const API_ID = 'a1b2c3d4e5';
const STAGE = 'prod';
const INVOKE = 'execute-api:Invoke';

/** The principals: the documented ones, and some that probe prefixes and the Deny statements. */
const PRINCIPALS: Readonly<Record<string, readonly AclEntry[]>> = {
  producer: ACL_PRESETS.producer('orders'),
  consumer: ACL_PRESETS.consumer('orders', 'billing'),
  admin: ACL_PRESETS.admin(),
  monitor: ACL_PRESETS.monitor(),
  prefixProducer: ACL_PRESETS.producer('orders.*'),
  prefixConsumer: ACL_PRESETS.consumer('orders.*', 'billing-*'),
  topicOwner: parseAcl(['topic:orders:All', 'group:*:Delete']),
  creator: parseAcl(['cluster:*:Create']),
};

const TOPICS = ['orders', 'orders.eu', 'ordersx', 'payments'];
const GROUPS = ['billing', 'billing-eu', 'audit'];

interface Probe {
  readonly route: Route;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly path: string;
  readonly methodArn: string;
}

/** Every route with every topic and group name (other parameters fixed). */
function probes(): Probe[] {
  const result: Probe[] = [];
  for (const route of ROUTES) {
    const topics = route.path.includes('{topic}') ? TOPICS : [undefined];
    const groups = route.path.includes('{group}') ? GROUPS : [undefined];
    for (const topic of topics) {
      for (const group of groups) {
        const pathParameters: Record<string, string> = {};
        const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
          const value =
            name === 'topic' ? topic : name === 'group' ? group : name === 'partition' ? '0' : `${name}-1`;
          pathParameters[name] = value as string;
          return value as string;
        });
        result.push({ route, pathParameters, path, methodArn: arnOf(route.method, path) });
      }
    }
  }
  return result;
}

const arnOf = (method: string, path: string) =>
  `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/${STAGE}/${method}${path}`;

const PROBES = probes();

let policies: Record<string, StatementJson[]>;
let authorizer: AuthorizerHandler;

beforeAll(() => {
  // Synthesize one managed policy per principal on a REST API with the stage Shoal uses.
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'Access');
  const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: STAGE } });
  api.root.addMethod('GET', new apigateway.MockIntegration());
  const constructs = Object.fromEntries(
    Object.entries(PRINCIPALS).map(([name, acl]) => [name, new ShoalAccessPolicy(stack, name, { api, acl })]),
  );
  const template = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: { PolicyDocument: { Statement: unknown[] } } }>;
  };
  const refs = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    [stack.resolve((api.node.defaultChild as apigateway.CfnRestApi).logicalId)]: API_ID,
  };
  policies = Object.fromEntries(
    Object.entries(constructs).map(([name, construct]) => {
      const logicalId = stack.resolve(
        (construct.policy.node.defaultChild as unknown as { logicalId: string }).logicalId,
      );
      const resource = template.Resources[logicalId];
      if (!resource) throw new Error(`No policy ${logicalId} for ${name}`);
      return [name, resolveIntrinsics(resource.Properties.PolicyDocument.Statement, refs) as StatementJson[]];
    }),
  );

  authorizer = createAuthorizer({
    config: {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      clockSkewS: 60,
      jwks: undefined,
      jwksUrl: undefined,
      hs256SecretArn: 'unused',
      aclClaim: 'shoal_acl',
      principalClaim: 'sub',
      region: REGION,
    },
    keys: async (header) => (header.alg === 'HS256' ? hs256Key() : undefined),
    nowMs: () => NOW_S * 1000,
    log: { info: () => {} },
  });
}, 60_000);

function eventFor(probe: Probe, token: string): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: probe.methodArn,
    resource: probe.route.path,
    path: probe.path,
    httpMethod: probe.route.method,
    headers: { Authorization: `Bearer ${token}` },
    pathParameters: probe.pathParameters,
    requestContext: { requestId: 'r-1' },
  } as unknown as APIGatewayRequestAuthorizerEvent;
}

function tokenFor(principal: string): string {
  const acl = (PRINCIPALS[principal] ?? []).map(formatAclEntry);
  return signJwt({ alg: 'HS256' }, validClaims({ sub: principal, shoal_acl: acl }), hs256Key());
}

/** A route API Gateway authorizes nothing for (`public` in `acl.ts`). */
function isPublic(probe: (typeof PROBES)[number]): boolean {
  return requirementOf(probe.route).resourceType === 'public';
}

/** The hand-written expectations for the documented principals ("allow" or "deny"). */
const TABLE: readonly [principal: string, method: string, path: string, expected: 'allow' | 'deny'][] = [
  ['producer', 'POST', '/v1/topics/orders/records', 'allow'],
  ['producer', 'GET', '/v1/topics/orders', 'allow'],
  ['producer', 'GET', '/v1/topics/orders/partitions/0/offsets', 'allow'],
  ['producer', 'GET', '/v1/health', 'allow'],
  ['producer', 'GET', '/v1/topics/orders/partitions/0/records', 'deny'],
  ['producer', 'POST', '/v1/topics/payments/records', 'deny'],
  ['producer', 'POST', '/v1/topics/ordersx/records', 'deny'],
  ['producer', 'POST', '/v1/topics', 'deny'],
  ['producer', 'DELETE', '/v1/topics/orders', 'deny'],
  ['producer', 'POST', '/v1/groups/billing/offsets', 'deny'],
  ['consumer', 'GET', '/v1/topics/orders/partitions/0/records', 'allow'],
  ['consumer', 'POST', '/v1/groups/billing/members', 'allow'],
  ['consumer', 'POST', '/v1/groups/billing/members/memberId-1/heartbeat', 'allow'],
  ['consumer', 'POST', '/v1/groups/billing/offsets', 'allow'],
  ['consumer', 'DELETE', '/v1/groups/billing/members/memberId-1', 'allow'],
  ['consumer', 'GET', '/v1/groups/billing', 'allow'],
  // A transaction appends to topics the gateway cannot see: a consumer's Read on the group is not enough.
  ['consumer', 'POST', '/v1/groups/billing/transactions', 'deny'],
  ['producer', 'POST', '/v1/groups/billing/transactions', 'deny'],
  ['admin', 'POST', '/v1/groups/billing/transactions', 'allow'],
  ['consumer', 'POST', '/v1/topics/orders/records', 'deny'],
  ['consumer', 'GET', '/v1/topics/payments/partitions/0/records', 'deny'],
  ['consumer', 'POST', '/v1/groups/audit/offsets', 'deny'],
  ['consumer', 'DELETE', '/v1/groups/billing', 'deny'],
  ['consumer', 'GET', '/v1/groups', 'deny'],
  ['consumer', 'POST', '/v1/subscriptions', 'deny'],
  ['monitor', 'GET', '/v1/topics', 'allow'],
  ['monitor', 'GET', '/v1/topics/payments', 'allow'],
  ['monitor', 'GET', '/v1/groups/audit', 'allow'],
  ['monitor', 'GET', '/v1/subscriptions/name-1', 'allow'],
  ['monitor', 'GET', '/v1/topics/payments/partitions/0/records', 'deny'],
  ['monitor', 'POST', '/v1/topics/payments/records', 'deny'],
  ['monitor', 'POST', '/v1/groups/audit/members', 'deny'],
  ['admin', 'POST', '/v1/subscriptions', 'allow'],
  ['admin', 'DELETE', '/v1/topics/payments', 'allow'],
  ['admin', 'GET', '/v1/topics/payments/partitions/0/records', 'allow'],
  ['prefixProducer', 'POST', '/v1/topics/orders.eu/records', 'allow'],
  ['prefixProducer', 'POST', '/v1/topics/orders/records', 'deny'],
  ['prefixProducer', 'GET', '/v1/topics/orders.eu', 'allow'],
  ['prefixProducer', 'GET', '/v1/topics/orders.eu/partitions/0/records', 'deny'],
  ['topicOwner', 'PATCH', '/v1/topics/orders', 'allow'],
  ['topicOwner', 'DELETE', '/v1/groups/audit', 'allow'],
  ['topicOwner', 'DELETE', '/v1/groups/audit/members/memberId-1', 'deny'],
  ['creator', 'POST', '/v1/topics', 'allow'],
  ['creator', 'GET', '/v1/topics', 'deny'],
];

describe('authorization matrix', () => {
  it('covers every route, every principal and both kinds of answer', () => {
    const routes = new Set(PROBES.map((probe) => probe.route.operationId));
    const decisions = Object.values(PRINCIPALS).flatMap((acl) =>
      PROBES.map((probe) => isAllowed(acl, requirementOf(probe.route), probe.pathParameters)),
    );

    expect(routes.size).toBe(ROUTES.length);
    expect(decisions.filter(Boolean).length).toBeGreaterThan(50);
    expect(decisions.filter((allowed) => !allowed).length).toBeGreaterThan(50);
  });

  it('grants exactly what the hand-written table says, in the ACL model, IAM and the authorizer', async () => {
    for (const [principal, method, path, expected] of TABLE) {
      const probe = PROBES.find((candidate) => candidate.route.method === method && candidate.path === path);
      if (!probe) throw new Error(`No probe ${method} ${path}`);
      const label = `${principal} ${method} ${path}`;

      const model = isAllowed(PRINCIPALS[principal] ?? [], requirementOf(probe.route), probe.pathParameters);
      expect(model, `model: ${label}`).toBe(expected === 'allow');
      // API Gateway consults neither IAM nor the authorizer on a public route.
      if (isPublic(probe)) continue;
      const iam = evaluate(policies[principal] ?? [], INVOKE, probe.methodArn);
      const answer = await authorizer(eventFor(probe, tokenFor(principal)));

      expect(iam === 'Allow', `IAM: ${label}`).toBe(expected === 'allow');
      expect(answer.policyDocument.Statement[0], `authorizer: ${label}`).toMatchObject({
        Effect: expected === 'allow' ? 'Allow' : 'Deny',
      });
    }
  });

  it('makes the synthesized IAM policies agree with the ACL model on every probe', () => {
    const disagreements: string[] = [];
    for (const [principal, acl] of Object.entries(PRINCIPALS)) {
      for (const probe of PROBES.filter((candidate) => !isPublic(candidate))) {
        const expected = isAllowed(acl, requirementOf(probe.route), probe.pathParameters);
        const decision = evaluate(policies[principal] ?? [], INVOKE, probe.methodArn);
        if ((decision === 'Allow') !== expected) {
          disagreements.push(`${principal} ${probe.route.method} ${probe.path}: ${decision}`);
        }
      }
    }

    expect(disagreements).toEqual([]);
  });

  it('makes the authorizer agree with the ACL model on every probe, with a policy for that method ARN only', async () => {
    const disagreements: string[] = [];
    for (const [principal, acl] of Object.entries(PRINCIPALS)) {
      const token = tokenFor(principal);
      for (const probe of PROBES.filter((candidate) => !isPublic(candidate))) {
        const expected = isAllowed(acl, requirementOf(probe.route), probe.pathParameters);
        const answer = await authorizer(eventFor(probe, token));
        const statements = answer.policyDocument.Statement as unknown as StatementJson[];
        const decision = evaluate(statements, INVOKE, probe.methodArn);
        // A cached answer reused for any other request (another route or name) must never allow it.
        const leaks = PROBES.filter(
          (other) => other !== probe && evaluate(statements, INVOKE, other.methodArn) === 'Allow',
        );
        if ((decision === 'Allow') !== expected || leaks.length > 0 || answer.principalId !== principal) {
          disagreements.push(
            `${principal} ${probe.route.method} ${probe.path}: ${decision}, ${leaks.length} leaks`,
          );
        }
      }
    }

    expect(disagreements).toEqual([]);
  });

  it('names the public health check in no policy: it is allowed to everyone, and to no one by IAM', () => {
    const health = PROBES.filter(isPublic);

    expect(health.map((probe) => probe.route.operationId)).toEqual(['getHealth']);
    for (const [principal, statements] of Object.entries(policies)) {
      for (const probe of health) {
        expect(evaluate(statements, INVOKE, probe.methodArn), principal).not.toBe('Allow');
        expect(isAllowed([], requirementOf(probe.route), probe.pathParameters)).toBe(true);
      }
    }
  });

  it('uses Deny statements only where a wildcard reaches a route the ACL does not allow', () => {
    expect(policies.monitor?.filter((statement) => statement.Effect === 'Deny')).toEqual([
      {
        Effect: 'Deny',
        Action: INVOKE,
        Resource: arnOf('GET', '/v1/topics/*/partitions/*/records'),
      },
    ]);
    expect(policies.producer?.some((statement) => statement.Effect === 'Deny')).toBe(false);
    expect(policies.admin?.some((statement) => statement.Effect === 'Deny')).toBe(false);
  });

  it('fails when IAM cannot express the ACL: Describe on every topic but Read on one', () => {
    const acl = parseAcl(['topic:*:Describe', 'topic:orders:Read']);

    expect(() => executeApiResources(acl)).toThrow(
      /IAM cannot express this ACL: GET \/v1\/topics\/\* .*fetchRecords/,
    );
  });
});

/**
 * Grants return an `iam.Grant`, as aws-cdk-lib's `grant*` methods do: the caller can check it,
 * combine it, or order other resources after it.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { grantShoalAccess } from '../../infra/authorization.js';

type PolicyStatement = { Effect: string; Action: string | string[]; Resource: unknown };

/** A stack with a REST API on Shoal's stage name and a role to grant to. */
function setUp() {
  const stack = new Stack(new App(), 'Grants');
  const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: 'prod' } });
  api.root.addMethod('GET', new apigateway.MockIntegration());
  const role = new iam.Role(stack, 'Consumer', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  return { stack, api, role };
}

function roleStatementsOf(stack: Stack): PolicyStatement[] {
  return Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement,
  );
}

// The first synthesis of a run loads aws-cdk-lib's modules: over 30 s on a loaded 2-core machine.
describe('grantShoalAccess', { timeout: 120_000 }, () => {
  it('returns the grant of execute-api:Invoke on the routes the ACL allows', () => {
    const { stack, api, role } = setUp();

    const grant = grantShoalAccess(role, api, ['topic:orders:Write']);

    const granted = roleStatementsOf(stack);
    const sorted = (resource: unknown) =>
      [resource]
        .flat()
        .map((arn) => JSON.stringify(stack.resolve(arn)))
        .sort();
    expect(grant).toBeInstanceOf(iam.Grant);
    expect(grant.success).toBe(true);
    expect(granted.map((statement) => [statement.Effect, statement.Action])).toEqual([
      ['Allow', 'execute-api:Invoke'],
    ]);
    expect(grant.principalStatements.flatMap((statement) => sorted(statement.resources))).toEqual(
      sorted(granted[0]?.Resource),
    );
  });

  it('puts the Deny statements that bound its wildcards in the same policy as the grant', () => {
    const { stack, api, role } = setUp();

    grantShoalAccess(role, api, ['cluster:*:Describe', 'topic:*:Describe', 'group:*:Describe']);

    const statements = roleStatementsOf(stack);
    expect(statements.map((statement) => statement.Effect)).toEqual(['Allow', 'Deny']);
  });

  it('orders a resource after the policy that holds the grant', () => {
    const { stack, api, role } = setUp();
    const consumer = new CfnResource(stack, 'Consumer2', { type: 'AWS::SQS::Queue' });

    grantShoalAccess(role, api, ['topic:orders:Read']).applyBefore(consumer);

    const queue = Template.fromStack(stack).findResources('AWS::SQS::Queue');
    const policyId = Object.keys(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0];
    expect(Object.values(queue)[0]?.DependsOn).toContain(policyId);
  });

  it('grants nothing, and says so, for an empty ACL', () => {
    const { stack, api, role } = setUp();

    const grant = grantShoalAccess(role, api, []);

    expect(grant.success).toBe(false);
    expect(roleStatementsOf(stack)).toEqual([]);
  });
});

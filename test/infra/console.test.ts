/**
 * The deployed console (`infra/shoal-console.ts`): one small function serving the built files from
 * the API itself, on GET methods of `/`, `/console` and `/console/{file}` only, while every data
 * route keeps its authorization; cdk-nag stays clean. The function's bundle is built for real (no
 * stub) and answers like the local stack.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShoalStatelessStack } from '../../infra/shoal-api.js';
import { buildConsoleBundle, ShoalConsole } from '../../infra/shoal-console.js';
import { ShoalStatefulStack } from '../../infra/shoal-storage.js';
import { ROUTES } from '../../shared/http/route-table.js';
import { CDK_CONTEXT, type CfnResource, resourcesOf } from './shoal-app.js';

let stateless: ShoalStatelessStack;
let template: Template;

beforeAll(() => {
  // As infra/app.ts builds it: the console on the stateless stack's API. The API functions' bundling
  // is left off (this file asserts nothing about their code); the console's bundle is built anyway.
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stateful = new ShoalStatefulStack(app, 'ShoalStateful');
  stateless = new ShoalStatelessStack(app, 'ShoalStateless', { storage: stateful.storage });
  new ShoalConsole(stateless, 'Console', { restApi: stateless.api.restApi });
  template = Template.fromStack(stateless);
}, 300_000);

/** The path of every method of the REST API, e.g. `GET /console/{file}`, with its authorization. */
function methodsOf(): Map<string, string> {
  const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (id === undefined) return '';
    const resource = resources[id] as CfnResource;
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart as string}`;
  };
  const methods = new Map<string, string>();
  for (const method of Object.values(resourcesOf(template, 'AWS::ApiGateway::Method'))) {
    const path = pathOf(method.Properties.ResourceId) || '/';
    methods.set(
      `${method.Properties.HttpMethod as string} ${path}`,
      method.Properties.AuthorizationType as string,
    );
  }
  return methods;
}

describe('the deployed console', () => {
  it('is served without authorization on GET /, /console and /console/{file}, and nowhere else', () => {
    const methods = methodsOf();
    const open = [...methods]
      .filter(([, authorization]) => authorization === 'NONE')
      .map(([method]) => method);

    expect(open.sort()).toEqual(['GET /', 'GET /console', 'GET /console/{file}', 'GET /v1/health'].sort());
  });

  it('leaves every data route behind IAM authorization', () => {
    const methods = methodsOf();

    for (const route of ROUTES.filter(
      (candidate) => candidate.path !== '/v1/health' && candidate.path !== '/openapi.json',
    )) {
      expect(methods.get(`${route.method} ${route.path}`), `${route.method} ${route.path}`).toBe('AWS_IAM');
    }
  });

  it('runs one small function that may write its own logs and nothing else', () => {
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter((fn) =>
      String(fn.Properties.Description).includes('web console'),
    );

    expect(functions).toHaveLength(1);
    expect(functions[0]?.Properties).toMatchObject({
      MemorySize: 128,
      Timeout: 5,
      ReservedConcurrentExecutions: 5,
    });
    const policies = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('ConsoleRole'),
    );
    const actions = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap(
        (statement) => statement.Action,
      ),
    );
    expect(actions.filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:'))).toEqual(
      [],
    );
  });

  it('has no unacknowledged finding of the cdk-nag AwsSolutions or Serverless pack', () => {
    const violations = [
      new AwsSolutionsChecks(undefined, { verbose: true }),
      new ServerlessChecks(undefined, { verbose: true }),
    ].flatMap((pack) => pack.validateScope(stateless).violations);

    const findings = violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('fails when the reserved concurrency is out of bounds, naming the value', () => {
    const stack = new Stack(new App(), 'Bad');
    const restApi = new apigateway.RestApi(stack, 'Api');
    restApi.root.addMethod('GET');

    expect(() => new ShoalConsole(stack, 'Console', { restApi, reservedConcurrentExecutions: 0 })).toThrow(
      'reservedConcurrentExecutions must be an integer from 1 to 100, got 0',
    );
  });
});

describe("the console function's bundle", () => {
  it('holds the handler and the built page, script and stylesheet, and answers like the local stack', async () => {
    const folder = buildConsoleBundle();

    expect(existsSync(join(folder, 'index.mjs'))).toBe(true);
    const files = readdirSync(join(folder, 'assets'));
    expect(files.filter((name) => !/^chunk-\w+\.js$/.test(name)).sort()).toEqual([
      'app.css',
      'app.js',
      'index.html',
    ]);
    expect(files.filter((name) => name.startsWith('chunk-')).length).toBeGreaterThan(0);
    const { handler } = (await import(join(folder, 'index.mjs'))) as {
      handler: (
        event: unknown,
      ) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
    };
    const page = await handler({ httpMethod: 'GET', path: '/console/' });
    const script = await handler({ httpMethod: 'GET', path: '/console/app.js' });
    const missing = await handler({ httpMethod: 'GET', path: '/console/nope.js' });
    const root = await handler({ httpMethod: 'GET', path: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toBe(readFileSync(join(folder, 'assets', 'index.html'), 'utf8'));
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('import(');
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body).detail).toBe('The console has no file "nope.js".');
    expect(root).toMatchObject({ statusCode: 302, headers: { location: 'console/' } });
  });
});

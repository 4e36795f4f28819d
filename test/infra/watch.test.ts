/**
 * Template assertions for the watch WebSocket API of idle consumers: IAM on $connect, throttling
 * and access logs on the stage, the one management grant (POST to this stage's connections) for
 * the watch function and the dispatcher that notifies, and the endpoint both are told.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShoalStorage } from '../../infra/shoal-storage.js';
import { ShoalSubscriptions } from '../../infra/shoal-subscriptions.js';
import { ShoalWatch, type ShoalWatchProps } from '../../infra/shoal-watch.js';
import { ENV } from '../../shared/config.js';
import { CDK_CONTEXT } from './shoal-app.js';

type CfnResource = { Type: string; Properties: Record<string, any> };

let template: Template;
let build: (props: Partial<ShoalWatchProps>) => ShoalWatch;

beforeAll(() => {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Shoal');
  const storage = new ShoalStorage(stack, 'Storage');
  const subscriptions = new ShoalSubscriptions(stack, 'Subscriptions', { storage });
  new ShoalWatch(stack, 'Watch', { storage, notifier: subscriptions.dispatcher });
  template = Template.fromStack(stack);
  let count = 0;
  build = (props) =>
    new ShoalWatch(stack, `Other${count++}`, { storage, notifier: subscriptions.dispatcher, ...props });
}, 120_000);

describe('ShoalWatch', () => {
  it('authorizes $connect with IAM and routes messages to the watch function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'AWS_IAM',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
  });

  it('throttles the stage and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'v1',
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
    });
  });

  it('lets the watch function and the dispatcher POST to connections of its stage only', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as CfnResource[];
    const manage = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]).filter(
        (statement) => statement.Action === 'execute-api:ManageConnections',
      ),
    );
    expect(manage).toHaveLength(2);
    for (const statement of manage) {
      expect(JSON.stringify(statement.Resource)).toContain('/v1/POST/@connections/*');
    }
  });

  it('tells the watch function and the dispatcher the management endpoint', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as CfnResource[];
    const told = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.[ENV.watchEndpoint] !== undefined,
    );
    expect(told.map((fn) => fn.Properties.Description).sort()).toEqual([
      expect.stringContaining('dispatch-subscriptions'),
      expect.stringContaining('watch-topics'),
    ]);
    template.hasOutput('WatchUrl', {});
  });

  it('gives a second watch in the stack an output of its own, by its path or the outputName asked for', () => {
    const stack = Stack.of(build({}));
    expect(stack.node.tryFindChild('WatchUrl')).toBeDefined();
    expect(stack.node.tryFindChild('Other0WatchUrl')).toBeDefined();
    build({ outputName: 'AnalyticsWatchUrl' });
    expect(stack.node.tryFindChild('AnalyticsWatchUrl')).toBeDefined();
    expect(() => build({ outputName: 'AnalyticsWatchUrl' })).toThrow(
      /has an output 'AnalyticsWatchUrl' already; choose another outputName/,
    );
  });

  it('fails when a throttling limit is not a whole number in range', () => {
    expect(() => build({ throttlingRateLimit: 0 })).toThrow(
      /throttlingRateLimit must be a whole number from 1 to 10000, got 0/,
    );
  });
});

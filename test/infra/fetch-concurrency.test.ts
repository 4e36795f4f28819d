/**
 * Waiting consumers cannot starve the rest of Shoal of Lambda concurrency: the fetch function, the
 * one that waits (long polls), has reserved concurrency, a bound on how many run at once, while
 * produce, the archiver and the TTL rescue draw on the account's unreserved executions.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ShoalApi, type ShoalApiProps } from '../../infra/shoal-api.js';
import { ShoalStorage } from '../../infra/shoal-storage.js';
import { CDK_CONTEXT } from './shoal-app.js';

function synthesizeApi(props: Omit<ShoalApiProps, 'storage'> = {}): { api: ShoalApi; template: Template } {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Concurrency');
  const storage = new ShoalStorage(stack, 'Storage');
  const api = new ShoalApi(stack, 'Api', { ...props, storage });
  return { api, template: Template.fromStack(stack) };
}

/** Reserved concurrency of each API function, by function name. */
function reservedOf(api: ShoalApi, template: Template): Record<string, unknown> {
  const functions = template.findResources('AWS::Lambda::Function');
  const stack = Stack.of(api);
  return Object.fromEntries(
    Object.entries(api.functions).map(([name, fn]) => {
      const id = stack.resolve((fn.node.defaultChild as unknown as { logicalId: string }).logicalId);
      return [name, functions[id]?.Properties.ReservedConcurrentExecutions];
    }),
  );
}

describe('fetch concurrency', () => {
  it('bounds fetches at 100 at once and leaves every other function on the unreserved pool', () => {
    const { api, template } = synthesizeApi();

    const reserved = reservedOf(api, template);

    expect(reserved['fetch-records']).toBe(100);
    expect(
      Object.entries(reserved).filter(([name, value]) => name !== 'fetch-records' && value !== undefined),
    ).toEqual([]);
  });

  it('takes another bound, or none', () => {
    const bounded = synthesizeApi({ fetchConcurrency: 40 });
    const unbounded = synthesizeApi({ fetchConcurrency: false });

    expect(reservedOf(bounded.api, bounded.template)['fetch-records']).toBe(40);
    expect(reservedOf(unbounded.api, unbounded.template)['fetch-records']).toBeUndefined();
  });

  it('fails when the bound is not a whole number of at least 1', () => {
    expect(() => synthesizeApi({ fetchConcurrency: 0 })).toThrow(
      /fetchConcurrency must be a whole number, at least 1, or false, got 0/,
    );
  });
});

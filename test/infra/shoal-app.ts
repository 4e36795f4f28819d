/**
 * The app `infra/app.ts` deploys, as the infra tests build it: the stateful and the stateless
 * stack with cdk.json's feature flags, so the tests see the templates that get deployed.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ShoalStatelessStack } from '../../infra/shoal-api.js';
import { ShoalStatefulStack } from '../../infra/shoal-storage.js';

/** The feature flags `cdk synth` uses. */
export const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'))
  .context as Record<string, unknown>;

export interface ShoalApp {
  readonly stateful: ShoalStatefulStack;
  readonly stateless: ShoalStatelessStack;
  readonly statefulTemplate: Template;
  readonly statelessTemplate: Template;
}

/** Settings of {@link synthesizeShoalApp}. */
export interface ShoalAppOptions {
  /**
   * Whether to bundle the functions with esbuild, the slow part (some 20 seconds on two cores).
   * Bundling changes only the functions' code assets: a file that asserts nothing about the code
   * should leave it off.
   */
  readonly bundling: boolean;
}

/** Builds and synthesizes both stacks, as `infra/app.ts` does. */
export function synthesizeShoalApp(options: ShoalAppOptions): ShoalApp {
  const app = new App({
    context: { ...CDK_CONTEXT, ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const stateful = new ShoalStatefulStack(app, 'ShoalStateful');
  const stateless = new ShoalStatelessStack(app, 'ShoalStateless', { storage: stateful.storage });
  return {
    stateful,
    stateless,
    statefulTemplate: Template.fromStack(stateful),
    statelessTemplate: Template.fromStack(stateless),
  };
}

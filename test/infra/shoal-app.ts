/**
 * The app `infra/app.ts` deploys, as the infra tests build it: the stateful and the stateless
 * stack with cdk.json's feature flags, so the tests see the templates that get deployed.
 */
import { readFileSync } from 'node:fs';
import { App, type Stack } from 'aws-cdk-lib';
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
  /** Context besides cdk.json's (`shoal:*` keys). @default none */
  readonly context?: Record<string, unknown>;
}

/** Builds and synthesizes both stacks, as `infra/app.ts` does. */
export function synthesizeShoalApp(options: ShoalAppOptions): ShoalApp {
  const app = new App({
    context: {
      ...CDK_CONTEXT,
      ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
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

/** A resource of a synthesized template, as the template tests read it. */
export type CfnResource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };
/** One statement of an IAM policy document in a template. */
export type PolicyStatement = { Effect: string; Action: string | string[]; Resource: unknown };

/** The DynamoDB actions that change items. */
export const DYNAMODB_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** Every resource of `type` in a template, by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** The logical id a construct's resource gets in `stack`. */
export function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId);
}

/** A statement's actions as a list (a template gives one action as a string). */
export function actionsOf(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/**
 * The CDK app behind `npx cdk synth` / `cdk deploy`: Shoal's stateful stack (tables, bucket) and
 * stateless stack (functions, API, web console, lag monitor, dashboard, alarms), checked by cdk-nag's AWS
 * Solutions and Serverless rules. Both stacks are environment-agnostic: the account and region come
 * from the deployment credentials. Settings come from the `shoal:*` context keys (`infra/context.ts`).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readShoalContext } from './context.js';
import { ShoalStatelessStack } from './shoal-api.js';
import { ShoalConsole } from './shoal-console.js';
import { ShoalStatefulStack } from './shoal-storage.js';

const app = new App();
const settings = readShoalContext(app.node);
const stateful = new ShoalStatefulStack(app, 'ShoalStateful', settings.stateful);
const stateless = new ShoalStatelessStack(app, 'ShoalStateless', {
  ...settings.stateless,
  storage: stateful.storage,
});
// The web console, served by the API itself at /console/ of its stage (docs/console.md).
new ShoalConsole(stateless, 'Console', { restApi: stateless.api.restApi });
// cdk-nag 3 runs as policy-validation plugins (they replaced v2's Aspects); an unacknowledged
// finding of either pack fails the synthesis.
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new ServerlessChecks(app, { verbose: true }),
);

/**
 * The CDK app behind `npx cdk synth` / `cdk deploy`: Shoal's stateful stack (tables, bucket) and
 * stateless stack (functions, API), checked by cdk-nag's AWS Solutions rules. Both stacks are
 * environment-agnostic: the account and region come from the deployment credentials.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ShoalStatelessStack } from './shoal-api.js';
import { ShoalStatefulStack } from './shoal-storage.js';

const app = new App();
const stateful = new ShoalStatefulStack(app, 'ShoalStateful');
new ShoalStatelessStack(app, 'ShoalStateless', { storage: stateful.storage });
// cdk-nag 3 runs as a policy-validation plugin (it replaced v2's Aspect); an unacknowledged finding
// fails the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

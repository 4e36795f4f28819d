/**
 * The entry of the `shoal-cdk` package: the constructs a user's CDK app embeds, re-exported from
 * `infra/` (the one source; `packages/build.ts` bundles it). `aws-cdk-lib` and `constructs` are peer
 * dependencies, so the app's own copies are used and `instanceof` checks across them hold.
 *
 * @example
 * import { ShoalEventSource, ShoalLog } from 'shoal-cdk';
 *
 * const log = new ShoalLog(stack, 'Shoal');
 * fn.addEventSource(new ShoalEventSource(log, { topic: 'orders', startingPosition: lambda.StartingPosition.TRIM_HORIZON }));
 */
export {
  type AclInput,
  grantShoalAccess,
  ShoalAccessPolicy,
  type ShoalAccessPolicyProps,
  ShoalJwtAuthorizer,
  type ShoalJwtAuthorizerProps,
} from '../../infra/authorization.js';
export {
  backgroundWatchOf,
  type ObservabilitySettings,
  ShoalObservability,
  type ShoalObservabilityProps,
  type WatchedDeployment,
} from '../../infra/observability.js';
export {
  ShoalApi,
  type ShoalApiProps,
  ShoalStatelessStack,
  type ShoalStatelessStackProps,
} from '../../infra/shoal-api.js';
export {
  grantSubscriptionTarget,
  ShoalEventSource,
  type ShoalEventSourceProps,
} from '../../infra/shoal-event-source.js';
export { deploymentNameOf, type ScheduledJob, scheduledJobOf } from '../../infra/shoal-function.js';
export { ShoalLog, type ShoalLogProps } from '../../infra/shoal-log.js';
export { ShoalOutbox, type ShoalOutboxProps } from '../../infra/shoal-outbox.js';
export {
  ShoalStatefulStack,
  type ShoalStatefulStackProps,
  ShoalStorage,
  type ShoalStorageProps,
} from '../../infra/shoal-storage.js';
export {
  type IShoalLog,
  ShoalSubscriptions,
  type ShoalSubscriptionsProps,
} from '../../infra/shoal-subscriptions.js';
export { ShoalTieredStorage, type ShoalTieredStorageProps } from '../../infra/shoal-tiered-storage.js';

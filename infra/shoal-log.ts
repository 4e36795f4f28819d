/**
 * The whole of Shoal as one construct, for teams that embed the service in their own CDK app:
 * storage, API, archiver, subscriptions, lag monitor, dashboard, alarms and access policies.
 * `npx cdk deploy` of this repository deploys the same parts split into a stateful and a stateless
 * stack instead (`infra/app.ts`); choose the construct to keep Shoal inside a stack you own.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  type AclInput,
  createAccessPolicies,
  grantShoalAccess,
  readsTopics,
  type ShoalAccessPolicy,
  validateAccessPolicyNames,
} from './authorization.js';
import {
  backgroundWatchOf,
  type ObservabilitySettings,
  ShoalObservability,
  type ShoalObservabilityProps,
} from './observability.js';
import { ShoalApi, type ShoalApiProps } from './shoal-api.js';
import { grantSubscriptionTarget } from './shoal-event-source.js';
import { ShoalStorage, type ShoalStorageProps } from './shoal-storage.js';
import { type IShoalLog, ShoalSubscriptions, type ShoalSubscriptionsProps } from './shoal-subscriptions.js';
import { ShoalTieredStorage, type ShoalTieredStorageProps } from './shoal-tiered-storage.js';
import { ShoalWatch } from './shoal-watch.js';

/** Settings of {@link ShoalLog}. Every group of settings has the defaults of its construct. */
export interface ShoalLogProps {
  /**
   * Tables and segment bucket.
   * @default the {@link ShoalStorageProps} defaults
   */
  readonly storage?: ShoalStorageProps;
  /**
   * Functions, REST API, authorization (IAM, or `jwtAuthorizer`), throttling and WAF.
   * @default the {@link ShoalApiProps} defaults: IAM on every method
   */
  readonly api?: Omit<ShoalApiProps, 'storage'>;
  /**
   * The archiver and the TTL rescue.
   * @default the {@link ShoalTieredStorageProps} defaults
   */
  readonly tieredStorage?: Omit<ShoalTieredStorageProps, 'storage'>;
  /**
   * The dispatcher that delivers topics to subscribed functions.
   * @default the {@link ShoalSubscriptionsProps} defaults
   */
  readonly subscriptions?: Omit<ShoalSubscriptionsProps, 'storage'>;
  /**
   * Lag monitor, dashboard and alarms, or `false` for none of them.
   * @default the {@link ShoalObservabilityProps} defaults
   */
  readonly observability?: ObservabilitySettings | false;
  /**
   * Managed policies to create, by name, each granting an ACL on the API, e.g.
   * `{ OrdersProducer: ['topic:orders:Write'] }`. Attach them to roles anywhere in the account;
   * their ARNs are stack outputs.
   * @default none
   */
  readonly accessPolicies?: Readonly<Record<string, AclInput>>;
}

/**
 * A complete Shoal deployment inside one construct.
 *
 * @example
 * const shoal = new ShoalLog(this, 'Shoal', {
 *   api: { throttlingRateLimit: 500 },
 *   observability: { alarmActions: [new cloudwatch_actions.SnsAction(onCall)] },
 * });
 * shoal.grant(ordersService.role, ['topic:orders:Write']);
 * billingFn.addEventSource(new ShoalEventSource(shoal, { topic: 'orders', startingPosition: lambda.StartingPosition.LATEST }));
 */
export class ShoalLog extends Construct implements IShoalLog {
  readonly storage: ShoalStorage;
  readonly api: ShoalApi;
  readonly tieredStorage: ShoalTieredStorage;
  readonly subscriptions: ShoalSubscriptions;
  /** The watch WebSocket API of idle consumers. */
  readonly watch: ShoalWatch;
  readonly observability: ShoalObservability | undefined;
  readonly accessPolicies: Readonly<Record<string, ShoalAccessPolicy>>;

  constructor(scope: Construct, id: string, props: ShoalLogProps = {}) {
    super(scope, id);
    validateAccessPolicyNames(props.accessPolicies ?? {});
    this.storage = new ShoalStorage(this, 'Storage', props.storage);
    const storage = this.storage;
    this.api = new ShoalApi(this, 'Api', { ...props.api, storage });
    this.tieredStorage = new ShoalTieredStorage(this, 'TieredStorage', { ...props.tieredStorage, storage });
    this.subscriptions = new ShoalSubscriptions(this, 'Subscriptions', { ...props.subscriptions, storage });
    this.watch = new ShoalWatch(this, 'Watch', { storage, notifier: this.subscriptions.dispatcher });
    this.observability =
      props.observability === false
        ? undefined
        : new ShoalObservability(this, 'Observability', {
            ...props.observability,
            storage,
            restApi: this.api.restApi,
            functions: shoalFunctions(this.api, this.tieredStorage, this.subscriptions),
            ...backgroundWatchOf(this),
          });
    this.accessPolicies = createAccessPolicies(
      this,
      this.api.restApi,
      props.accessPolicies ?? {},
      this.watch,
    );
  }

  /** @inheritdoc */
  get dispatcherRole(): iam.IRole {
    return this.subscriptions.dispatcherRole;
  }

  /** @inheritdoc */
  get subscriptionServiceToken(): string {
    return this.subscriptions.subscriptionServiceToken;
  }

  /** The API's base URL (`https://<id>.execute-api.<region>.amazonaws.com/<stage>/`). */
  get url(): string {
    return this.api.restApi.url;
  }

  /**
   * Lets a principal invoke what an ACL allows, e.g. `['topic:orders:Read', 'group:billing:Read']`
   * (see `docs/authorization.md`); an ACL that reads a topic may also connect to the watch
   * WebSocket of idle consumers.
   *
   * @returns the grant of the Allow statement (see {@link grantShoalAccess}).
   */
  grant(grantee: iam.IGrantable, acl: AclInput): iam.Grant {
    const grant = grantShoalAccess(grantee, this.api.restApi, acl);
    // A consumer waits on the watch WebSocket once it is idle (and long polls without it).
    if (readsTopics(acl)) this.watch.grantConnect(grantee);
    return grant;
  }

  /**
   * Lets the dispatcher invoke `target` for subscriptions created through the API, and nothing
   * else (see {@link grantSubscriptionTarget}); `ShoalEventSource` needs no such call.
   */
  allowSubscriptionTarget(target: lambda.IFunction): iam.Policy {
    return grantSubscriptionTarget(this, target);
  }
}

/** Every function of the stateless parts, for the dashboard. */
export function shoalFunctions(
  api: ShoalApi,
  tieredStorage: ShoalTieredStorage,
  subscriptions: ShoalSubscriptions,
): ShoalObservabilityProps['functions'] {
  return [
    ...Object.values(api.functions),
    ...Object.values(tieredStorage.functions).map((fn) => fn.function),
    subscriptions.dispatcher.function,
  ];
}

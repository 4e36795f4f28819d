/**
 * Wires the subscription parts for one runtime: the service behind the subscriptions API and the
 * dispatcher behind the event source, each with the invoker and target check of where it runs
 * (AWS Lambda in AWS, module handlers on the local stack).
 */
import { extname } from 'node:path';
import { DynamoDbGroupStore } from './adapters/dynamodb/group-store.js';
import { DynamoDbSubscriptionStore } from './adapters/dynamodb/subscription-store.js';
import { DynamoDbTopicStore } from './adapters/dynamodb/topic-store.js';
import { ENV, type ShoalConfig } from './config.js';
import type { CoreRuntime } from './core-runtime.js';
import { Dispatcher, type DispatcherOptions } from './domain/dispatcher.js';
import { InvalidRequestError } from './domain/errors.js';
import { isModuleTarget, type SubscriptionTarget } from './domain/subscription.js';
import { SubscriptionService, type TargetCheck } from './domain/subscription-service.js';
import { locateModule, type ModuleFolders, moduleFoldersOf } from './module-folders.js';
import type { FunctionInvoker } from './ports/function-invoker.js';
import { partitionLogFor, servicesFor } from './services.js';

export interface SubscriptionServices {
  readonly subscriptions: SubscriptionService;
  readonly dispatcher: Dispatcher;
}

export interface SubscriptionServicesOptions {
  /** Runs the targets; required for delivery, unused by the API. */
  readonly invoker?: FunctionInvoker;
  /** How targets are checked at creation. @default by where the runtime points (see {@link targetCheckFor}) */
  readonly checkTarget?: TargetCheck;
  readonly dispatcher?: Omit<DispatcherOptions, 'bootstrapServers'>;
}

/** The event's `bootstrapServers`: the deployment the records come from (its region and log table). */
export function bootstrapServersOf(config: ShoalConfig): string {
  return `shoal://${config.region}/${config.logTableName}`;
}

export function subscriptionServicesFor(
  runtime: CoreRuntime,
  options: SubscriptionServicesOptions = {},
): SubscriptionServices {
  const { config, documents } = runtime;
  const { clock } = runtime;
  const { log, groups } = servicesFor(runtime);
  const store = new DynamoDbSubscriptionStore(documents, config.metaTableName);
  const topics = new DynamoDbTopicStore(documents, config.metaTableName);
  const partitionLog = partitionLogFor(runtime);
  const groupStore = new DynamoDbGroupStore(documents, config.metaTableName);
  const invoker: FunctionInvoker = options.invoker ?? {
    timeoutMs: async () => {
      throw new Error('This runtime delivers nothing: it was built without an invoker');
    },
    invoke: async () => ({ kind: 'unavailable', reason: 'no invoker' }),
  };
  return {
    subscriptions: new SubscriptionService(
      store,
      topics,
      partitionLog,
      groupStore,
      groups,
      log,
      options.checkTarget ?? targetCheckFor(config),
      clock,
    ),
    dispatcher: new Dispatcher(
      { subscriptions: store, topics, partitionLog, log, groupStore, groups, invoker, clock },
      { ...options.dispatcher, bootstrapServers: bootstrapServersOf(config) },
    ),
  };
}

/**
 * Where targets can run: a runtime with a DynamoDB endpoint override is the local stack (module
 * targets, files that exist inside the config's `moduleDirs`); one without is AWS (function ARNs).
 */
export function targetCheckFor(config: ShoalConfig): TargetCheck {
  return config.dynamodbEndpoint === undefined ? awsTargetCheck : localTargetCheck(moduleFoldersOf(config));
}

/** AWS invokes Lambda functions only. */
export const awsTargetCheck: TargetCheck = async (target) => {
  if (isModuleTarget(target)) {
    throw new InvalidRequestError(
      'target.module runs on the local stack only; in AWS give target {"functionArn": "arn:...:function:name"}',
      'target',
    );
  }
};

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts']);

/**
 * The local stack invokes module handlers only: the file must exist with a module extension inside
 * one of the allowed folders, symlinks and `..` resolved (its export is checked at invocation, as
 * Lambda checks a handler). Relative paths start at `folders.baseDir`.
 */
export function localTargetCheck(folders: ModuleFolders): TargetCheck {
  return async (target: SubscriptionTarget) => {
    if (!isModuleTarget(target)) {
      throw new InvalidRequestError(
        'The local stack cannot invoke AWS Lambda functions: give target {"module": "<file>", "handler": "<export>"}',
        'target',
      );
    }
    const location = locateModule(target.module, folders);
    if (location.kind === 'outside') {
      throw new InvalidRequestError(
        `target.module: ${location.path} is outside the folders modules may be loaded from ` +
          `(${folders.moduleDirs.join(', ')}); start the stack with ${ENV.moduleDirs} listing its folder to allow it`,
        'target.module',
      );
    }
    if (!MODULE_EXTENSIONS.has(extname(location.path))) {
      throw new InvalidRequestError(
        `target.module must be a .js, .mjs, .cjs, .ts or .mts file, got ${target.module}`,
        'target.module',
      );
    }
    if (location.kind === 'missing') {
      throw new InvalidRequestError(`target.module: ${location.path} does not exist`, 'target.module');
    }
  };
}

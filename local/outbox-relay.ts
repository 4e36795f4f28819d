/**
 * The outbox relay on the local stack: for each relay of `SHOAL_OUTBOX_RELAYS`, a follower of that
 * table's stream in DynamoDB Local hands its records to the very handler of
 * `functions/relay-outbox.ts`, as `ShoalOutbox`'s event source mapping does in AWS: from the
 * stream's beginning, in order, retried from the first record not relayed.
 *
 * The table is the service's own and may be created after the stack starts: the relay waits for it
 * (and for its stream) instead of failing.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createHandler } from '../functions/relay-outbox.js';
import { isResourceNotFound } from '../shared/adapters/sdk-errors.js';
import type { LocalOutboxRelay } from '../shared/config.js';
import type { Runtime } from '../shared/runtime.js';
import { type BackgroundTask, followStream } from './background.js';

/** How often a relay looks for its table (and the table for its stream) until both exist. */
const TABLE_POLL_MS = 1_000;

export interface LocalOutboxRelayOptions {
  /** Pause of a follower between polls that found nothing. @default 250 */
  readonly idlePollMs?: number;
  readonly onError?: (error: unknown) => void;
}

/** Starts one relay per entry; `stop` ends them all and waits for the work in progress. */
export function startOutboxRelays(
  runtime: Runtime,
  relays: readonly LocalOutboxRelay[],
  options: LocalOutboxRelayOptions = {},
): BackgroundTask {
  const tasks = relays.map((relay) => startOutboxRelay(runtime, relay, options));
  return {
    stop: async () => {
      await Promise.all(tasks.map((task) => task.stop()));
    },
  };
}

function startOutboxRelay(
  runtime: Runtime,
  relay: LocalOutboxRelay,
  options: LocalOutboxRelayOptions,
): BackgroundTask {
  const onError =
    options.onError ??
    ((error: unknown) =>
      console.error(`[shoal] outbox relay of ${relay.tableName} to ${relay.topic}:`, error));
  const { tableName, ...mapping } = relay;
  const handler = createHandler(runtime, mapping);
  let stopped = false;
  let wake: (() => void) | undefined;
  let follower: BackgroundTask | undefined;
  const started = (async () => {
    while (!stopped && !(await hasStream(runtime, tableName).catch(onErrorFalse(onError)))) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, TABLE_POLL_MS);
      });
    }
    if (stopped) return;
    follower = followStream(runtime, tableName, handler, {
      startingPosition: 'TRIM_HORIZON',
      ...(options.idlePollMs === undefined ? {} : { idlePollMs: options.idlePollMs }),
      onError,
    });
  })();
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await started;
      await follower?.stop();
    },
  };
}

function onErrorFalse(onError: (error: unknown) => void) {
  return (error: unknown) => {
    onError(error);
    return false;
  };
}

/** Whether the table exists and has a stream that shows new images. */
async function hasStream(runtime: Runtime, tableName: string): Promise<boolean> {
  try {
    const described = await runtime.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const specification = described.Table?.StreamSpecification;
    if (!described.Table?.LatestStreamArn || !specification?.StreamEnabled) return false;
    if (
      specification.StreamViewType !== 'NEW_IMAGE' &&
      specification.StreamViewType !== 'NEW_AND_OLD_IMAGES'
    ) {
      throw new Error(
        `Table ${tableName} streams ${specification.StreamViewType}: the outbox relay needs NEW_IMAGE or NEW_AND_OLD_IMAGES`,
      );
    }
    return true;
  } catch (error) {
    if (isResourceNotFound(error)) return false;
    throw error;
  }
}

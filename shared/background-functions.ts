/**
 * Lambda functions that serve no HTTP route, beside the route table's: each has an entry
 * `functions/<name>.ts` exporting `handler`. `trigger` says what invokes it; the constructs that
 * deploy it wire that trigger (`infra/shoal-tiered-storage.ts`, `infra/shoal-subscriptions.ts`:
 * a schedule, the log table's stream, CloudFormation) and so does the local stack
 * (`local/background.ts`: a timer, a stream follower), each checked by its own tests.
 */

/** A function triggered by something other than API Gateway. */
export type BackgroundFunctionName =
  | 'archive-segments'
  | 'rescue-batches'
  | 'reap-topics'
  | 'dispatch-subscriptions'
  | 'subscription-resource';

/** What invokes a background function. */
export type BackgroundTrigger =
  /** A fixed-rate schedule (EventBridge in AWS, a timer on the local stack). */
  | 'schedule'
  /** REMOVE records of the log table's stream that DynamoDB's TTL caused. */
  | 'log-table-ttl-removals'
  /** INSERT records of the log table's stream (appended batches), and a schedule for what they missed. */
  | 'log-table-appends-and-schedule'
  /** CloudFormation, for the `Custom::ShoalSubscription` resources of `ShoalEventSource` (AWS only). */
  | 'cloudformation';

export interface BackgroundFunction {
  readonly name: BackgroundFunctionName;
  readonly trigger: BackgroundTrigger;
  readonly summary: string;
}

/** Every background function, in a stable order (CDK construct ids derive from it). */
export const BACKGROUND_FUNCTIONS = [
  {
    name: 'archive-segments',
    trigger: 'schedule',
    summary: 'Roll old batches into S3 segments, record them in the manifest, apply retention',
  },
  {
    name: 'rescue-batches',
    trigger: 'log-table-ttl-removals',
    summary: 'Store batches that TTL deleted before they were archived, for the next segment',
  },
  {
    name: 'reap-topics',
    trigger: 'schedule',
    summary: 'Remove what deleted topics left behind: batches, segments, payloads, manifest, offsets',
  },
  {
    name: 'dispatch-subscriptions',
    trigger: 'log-table-appends-and-schedule',
    summary: 'Deliver appended records to subscribed functions: ordered, leased, retried, dead-lettered',
  },
  {
    name: 'subscription-resource',
    trigger: 'cloudformation',
    summary: 'Create, update and delete the subscriptions that ShoalEventSource declares',
  },
] as const satisfies readonly BackgroundFunction[];

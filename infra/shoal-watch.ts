/**
 * The watch WebSocket API: idle consumers hold one connection, name the topics they read, and are
 * told when a partition's high watermark moves, instead of paying for long polls (see
 * `docs/consumer-groups.md`, "What an idle consumer costs"). One function (`functions/watch-topics.ts`)
 * answers the routes; the dispatcher, which already reads the log table's stream, posts the
 * notifications (a third reader of the stream could be throttled: a shard serves about two).
 *
 * ```
 * client ──$connect (SigV4)──► API ──$default──► watch-topics ──► meta table (W#<topicId> items, TTL)
 * log table stream ──► dispatch-subscriptions ──POST @connections/{id}──► client
 * ```
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../shared/config.js';
import { ShoalFunction, shoalEnvironment } from './shoal-function.js';
import type { ShoalStorage } from './shoal-storage.js';

/** Settings of {@link ShoalWatch}. */
export interface ShoalWatchProps {
  /** The tables and the segment bucket, in this stack or another one. */
  readonly storage: ShoalStorage;
  /** The function that reads the log table's stream and posts notifications (the dispatcher). */
  readonly notifier: ShoalFunction;
  /** @default 'v1' */
  readonly stageName?: string;
  /**
   * Messages per second the stage accepts over all connections (each idle consumer sends one about
   * every 10 s). @default 100
   */
  readonly throttlingRateLimit?: number;
  /** @default 200 */
  readonly throttlingBurstLimit?: number;
  /** Memory of the watch function: it makes one or two DynamoDB calls per message. @default 256 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The stack output that names the watch URL; a second ShoalWatch in one stack needs its own.
   * @default 'WatchUrl'
   */
  readonly outputName?: string;
}

const RATE_LIMIT_DEFAULT = 100;
const BURST_LIMIT_DEFAULT = 200;
const MEMORY_SIZE_DEFAULT = 256;

/** See the module comment. */
export class ShoalWatch extends Construct {
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly watchFunction: ShoalFunction;
  readonly accessLogGroup: logs.LogGroup;
  /** `wss://...`: the client's `watchUrl`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ShoalWatchProps) {
    super(scope, id);
    validateProps(props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.watchFunction = new ShoalFunction(this, 'WatchTopics', {
      name: 'watch-topics',
      description: 'Shoal watch-topics: tell idle consumers when the topics they read get records',
      invocation: 'synchronous',
      memorySize: props.memorySize ?? MEMORY_SIZE_DEFAULT,
      timeout: Duration.seconds(10),
      logRetention,
      environment: shoalEnvironment(props.storage),
    });
    // Watch items and group heartbeats (meta table); topic descriptions read heads there too.
    props.storage.metaTable.grantReadWriteData(this.watchFunction.role);

    const integration = new WebSocketLambdaIntegration('WatchTopics', this.watchFunction.function);
    this.webSocketApi = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'Shoal watch: notifications of new records for idle consumers',
      // Only $connect takes authorization in a WebSocket API: the same IAM (SigV4) as the REST API.
      connectRouteOptions: { integration, authorizer: new WebSocketIamAuthorizer() },
      defaultRouteOptions: { integration },
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: props.stageName ?? 'v1',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttlingRateLimit ?? RATE_LIMIT_DEFAULT,
        burstLimit: props.throttlingBurstLimit ?? BURST_LIMIT_DEFAULT,
      },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            connectionId: '$context.connectionId',
            status: '$context.status',
            userArn: '$context.identity.userArn',
            integrationError: '$context.integration.error',
          }),
        ),
      },
    });
    this.url = this.stage.url;

    // Answers and notifications go down connections through the management API: POST only, on this
    // API's one stage (connection ids are made at run time, hence the one wildcard).
    for (const role of [this.watchFunction.role, props.notifier.role]) this.grantPostToConnections(role);
    const endpoint = this.stage.callbackUrl;
    this.watchFunction.function.addEnvironment(ENV.watchEndpoint, endpoint);
    props.notifier.function.addEnvironment(ENV.watchEndpoint, endpoint);
    new CfnOutput(Stack.of(this), this.outputNameOf(props.outputName), {
      value: this.url,
      description:
        "The consumers' watchUrl: idle consumers wait for notifications here instead of long polling",
    });
    this.acknowledgeFindings();
  }

  /**
   * Lets a principal open a watch connection (`execute-api:Invoke` on this stage's `$connect`). What
   * it then watches is not checked against its ACL: a notification carries a topic's partitions and
   * high watermarks, no records (`docs/authorization.md`). `ShoalLog.grant` calls this for an ACL
   * that reads a topic.
   */
  grantConnect(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.connectArn()],
    });
  }

  /** The statement of {@link grantConnect}, for a managed policy. */
  connectStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [this.connectArn()] });
  }

  private connectArn(): string {
    return Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.webSocketApi.apiId,
      resourceName: `${this.stage.stageName}/$connect`,
    });
  }

  /**
   * `WatchUrl`, or for a second ShoalWatch in the stack (two ShoalLogs, say) the construct path
   * before it, so that each keeps an output; a name asked for must be free.
   */
  private outputNameOf(asked: string | undefined): string {
    const stack = Stack.of(this);
    if (asked !== undefined) {
      if (stack.node.tryFindChild(asked)) {
        throw new Error(
          `ShoalWatch ${this.node.path}: the stack has an output '${asked}' already; choose another outputName`,
        );
      }
      return asked;
    }
    if (!stack.node.tryFindChild('WatchUrl')) return 'WatchUrl';
    return `${this.node.path.slice(stack.node.path.length).replace(/[^A-Za-z0-9]/g, '')}WatchUrl`;
  }

  /** `execute-api:ManageConnections` for `POST @connections/*` of this stage, acknowledged for cdk-nag. */
  private grantPostToConnections(role: iam.Role): iam.Grant {
    const stack = Stack.of(this);
    const resourceName = `${this.stage.stageName}/POST/@connections/*`;
    const grant = iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['execute-api:ManageConnections'],
      resourceArns: [
        stack.formatArn({ service: 'execute-api', resource: this.webSocketApi.apiId, resourceName }),
      ],
    });
    const apiLogicalId = stack.resolve((this.webSocketApi.node.defaultChild as apigwv2.CfnApi).logicalId);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/${resourceName}]`,
      reason:
        "POST to the connections of the watch API's one stage only; connection ids are made by API Gateway as " +
        'clients connect, so they can only be named by wildcard.',
    });
    return grant;
  }

  private acknowledgeFindings(): void {
    Validations.of(this.webSocketApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'A WebSocket API authorizes the $connect route only (SigV4 here, as the REST API); messages on $default ' +
        'travel over a connection that was authorized when it opened, and API Gateway offers no authorizer for them.',
    });
  }
}

function validateProps(props: ShoalWatchProps): void {
  const whole = (name: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      throw new Error(`ShoalWatch: ${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('throttlingRateLimit', props.throttlingRateLimit, 1, 10_000);
  whole('throttlingBurstLimit', props.throttlingBurstLimit, 1, 5_000);
  whole('memorySize', props.memorySize, 128, 10_240);
}

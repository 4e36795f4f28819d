/**
 * Lambda entry of the topic reaper, invoked on a schedule (EventBridge in AWS, a timer on the local
 * stack). One invocation removes what deleted topics left behind, within its bounds
 * (`shared/domain/topic-reaper.ts`); the next one goes on where it stopped.
 */
import type { ReapReport, TopicReaperOptions } from '../shared/domain/topic-reaper.js';
import { createLogger } from '../shared/observability/logger.js';
import { backgroundEntry, type Runtime } from '../shared/runtime.js';
import { topicReaperFor } from '../shared/services.js';

const logger = createLogger();

export type ReapHandler = (event?: unknown) => Promise<ReapReport>;

/** Builds the handler for a runtime; it logs only runs that removed something or stopped short. */
export function createHandler(runtime: Runtime, options: TopicReaperOptions = {}): ReapHandler {
  const reaper = topicReaperFor(runtime, options);
  return async () => {
    const report = await reaper.run();
    if (report.removedItems > 0 || report.removedObjects > 0 || report.reaped > 0 || report.cutShort) {
      logger.info('Reap run', { ...report });
    }
    return report;
  };
}

export const handler: ReapHandler = backgroundEntry(createHandler);

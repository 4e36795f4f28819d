/**
 * `npm run check:consistency [-- --records N --seed N --producers N --partitions N --consumers N
 * --readers N --no-faults]`: starts a throwaway local stack with faults injected into its DynamoDB
 * client, runs the consistency checker against it and prints the table. Exits 1 when any column is
 * not zero, or when the consumer group did not catch up (then the run proved less than it should).
 * Then the exactly-once pipeline (`consistency/exactly-once.ts`) runs on the same stack, with as
 * many input records and the same faults, and prints its own table; `--no-exactly-once` skips it.
 */
import { parseArgs } from 'node:util';
import { runConsistencyCheck } from './consistency/checker.js';
import { renderExactlyOnceReport, runExactlyOncePipeline } from './consistency/exactly-once.js';
import { createCheckFaults } from './consistency/faults.js';
import { renderCheckReport } from './consistency/render.js';
import { startCheckTarget } from './consistency/target.js';
import { Progress } from './report.js';

const USAGE = `Usage: npm run check:consistency -- [--records N] [--seed N] [--producers N]
         [--partitions N] [--consumers N] [--readers N] [--no-faults] [--no-exactly-once]`;

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive whole number, got "${text}"\n${USAGE}`);
  }
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      seed: { type: 'string' },
      producers: { type: 'string' },
      partitions: { type: 'string' },
      consumers: { type: 'string' },
      readers: { type: 'string' },
      'no-faults': { type: 'boolean', default: false },
      'no-exactly-once': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = positiveInteger('seed', values.seed, 1);
  const faults = createCheckFaults(seed);
  // Injected crashes make handlers log an error each; the checker's table says what happened.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const progress = new Progress(process.stderr, 'check');
  progress.begin('starting a local stack');
  const target = await startCheckTarget(faults);
  try {
    progress.begin('running');
    const report = await runConsistencyCheck(target.url, {
      records: positiveInteger('records', values.records, 400),
      producers: positiveInteger('producers', values.producers, 4),
      partitions: positiveInteger('partitions', values.partitions, 3),
      consumers: positiveInteger('consumers', values.consumers, 3),
      readers: positiveInteger('readers', values.readers, 1),
      seed,
      archive: () => target.archive(),
      ...(values['no-faults'] ? {} : { faults }),
      onProgress: (line) => progress.update(line),
    });
    progress.finish();
    console.log(renderCheckReport(report));
    let exactlyOnceClean = true;
    if (!values['no-exactly-once']) {
      progress.begin('exactly-once pipeline');
      const pipeline = await runExactlyOncePipeline(target.url, {
        records: positiveInteger('records', values.records, 400),
        inputPartitions: positiveInteger('partitions', values.partitions, 3),
        consumers: positiveInteger('consumers', values.consumers, 3),
        crashes: 4,
        seed,
        ...(values['no-faults'] ? {} : { faults }),
        onProgress: (line) => progress.update(line),
      });
      progress.finish();
      console.log(renderExactlyOnceReport(pipeline));
      exactlyOnceClean = pipeline.clean;
    }
    return report.clean && report.stats.consumersCaughtUp && exactlyOnceClean ? 0 : 1;
  } finally {
    progress.finish();
    await target.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);

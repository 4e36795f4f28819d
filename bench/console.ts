/**
 * The console's page load (issue 15): with 100 topics and a partition of 100,000 records, how long
 * from navigation until a page shows what a person came for, in headless Chromium against the
 * target (the local stack by default). Two pages, each loaded fresh (new browser context, cold
 * cache) several times:
 *
 * - topics: the list shows every topic, and again once every row has its figures (each topic's
 *   description read, eight at a time);
 * - partition: the 100,000-record partition's offset bar and its first page of records.
 *
 * Times are the page's own clock (`performance.now()`, milliseconds since navigation start) at the
 * first animation frame where the condition holds. Runs alone with `npx tsx bench/console.ts`
 * (it starts a throwaway local stack), and as a section of `npm run bench`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { buildConsoleAssets } from '../console/assets.js';
import { startLocalStack } from '../local/stack.js';
import { CHROMIUM_PATH, launchChromium } from '../test/support/browser.js';
import { renderTable } from './report.js';
import { percentile, round } from './stats.js';

/** Settings of {@link measureConsoleLoad}. */
export interface ConsoleLoadSettings {
  /** Topics listed. @default 100 */
  readonly topics: number;
  /** Records in the browsed partition. @default 100_000 */
  readonly partitionRecords: number;
  /** Fresh loads of each page. @default 5 */
  readonly loads: number;
}

export const CONSOLE_LOAD_DEFAULTS: ConsoleLoadSettings = {
  topics: 100,
  partitionRecords: 100_000,
  loads: 5,
};

/** Records per produce request while filling the partition. */
const FILL_BATCH_RECORDS = 1000;
/** Longest one page may take before the load counts as failed. */
const LOAD_TIMEOUT_MS = 60_000;

/** One page's load times over the fresh loads, in milliseconds. */
export interface PageLoad {
  readonly page: string;
  readonly what: string;
  readonly loads: number;
  readonly p50Ms: number;
  readonly maxMs: number;
}

export interface ConsoleLoadResult {
  readonly topics: number;
  readonly partitionRecords: number;
  readonly pages: PageLoad[];
  /**
   * What the first page load fetches (page, script, stylesheet), and the chunks loaded when first
   * needed (uPlot with the first chart, the SigV4 signer): minified, and gzipped as a compressing
   * server would send them (the local stack does not compress).
   */
  readonly bundle: {
    readonly firstLoad: { readonly minifiedBytes: number; readonly gzippedBytes: number };
    readonly chunks: { readonly minifiedBytes: number; readonly gzippedBytes: number };
  };
}

/** A POST with a JSON body to the target; throws with the answer unless it is 2xx. */
async function post(url: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
}

async function prepare(url: string, settings: ConsoleLoadSettings): Promise<string> {
  const tag = Date.now().toString(36);
  const big = `console-bench-${tag}-big`;
  await post(url, '/v1/topics', { name: big, partitions: 1 });
  for (let index = 1; index < settings.topics; index++) {
    const name = `console-bench-${tag}-${String(index).padStart(3, '0')}`;
    await post(url, '/v1/topics', { name, partitions: 1 + (index % 6) });
  }
  for (let offset = 0; offset < settings.partitionRecords; offset += FILL_BATCH_RECORDS) {
    const count = Math.min(FILL_BATCH_RECORDS, settings.partitionRecords - offset);
    const records = Array.from({ length: count }, (_, n) => ({
      partition: 0,
      value: { type: 'JSON', data: { order: offset + n, customer: `c-${(offset + n) % 977}`, total: 12.5 } },
    }));
    await post(url, `/v1/topics/${big}/records`, { records });
  }
  return big;
}

/** What a page must show before it counts as loaded. */
interface Readiness {
  /** Rows of the topic list, at least. */
  readonly topicRows?: number;
  /** And no row still waiting for its figures. */
  readonly figuresFilled?: boolean;
  /** The offset bar's high watermark, as shown, and at least one record listed. */
  readonly highWatermarkText?: string;
}

/** The page's clock when `readiness` holds, else false. Runs in the page: a function, not a string (the CSP forbids eval). */
function readyAt(readiness: Readiness): number | false {
  type Found = { readonly length: number };
  type Doc = {
    querySelectorAll(selector: string): Found;
    querySelector(selector: string): { readonly textContent: string | null } | null;
  };
  const doc = (globalThis as unknown as { document: Doc }).document;
  if (
    readiness.topicRows !== undefined &&
    doc.querySelectorAll('tr[data-topic]').length < readiness.topicRows
  ) {
    return false;
  }
  if (readiness.figuresFilled && doc.querySelectorAll('tr[data-topic] .pending').length > 0) return false;
  if (readiness.highWatermarkText !== undefined) {
    if (doc.querySelector('[data-field="highWatermark"]')?.textContent !== readiness.highWatermarkText)
      return false;
    if (doc.querySelectorAll('li.record').length === 0) return false;
  }
  return performance.now();
}

/** Milliseconds from navigation start until `readiness` first holds, in a fresh context. */
async function loadTime(browser: Browser, url: string, readiness: Readiness): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    const handle = await page.waitForFunction(readyAt, readiness, {
      polling: 'raf',
      timeout: LOAD_TIMEOUT_MS,
    });
    return Number(await handle.jsonValue());
  } finally {
    await context.close();
  }
}

function summary(page: string, what: string, times: number[]): PageLoad {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    page,
    what,
    loads: times.length,
    p50Ms: round(percentile(sorted, 0.5), 0),
    maxMs: round(sorted[sorted.length - 1] ?? 0, 0),
  };
}

/** The console's files as built (the same build the local stack serves), minified and gzipped. */
async function bundleBytes(): Promise<ConsoleLoadResult['bundle']> {
  const assets = await buildConsoleAssets();
  const sizes = (names: string[]) => {
    const files = names.map((name) => assets.get(name)?.body ?? Buffer.alloc(0));
    return {
      minifiedBytes: files.reduce((sum, body) => sum + body.length, 0),
      gzippedBytes: files.reduce((sum, body) => sum + gzipSync(body).length, 0),
    };
  };
  const chunks = [...assets.keys()].filter((name) => name.startsWith('chunk-'));
  return { firstLoad: sizes(['index.html', 'app.js', 'app.css']), chunks: sizes(chunks) };
}

/**
 * Fills the target at `url` with the topics and the partition, then loads each page `loads` times.
 *
 * @returns null when Chromium is not installed (the section is then left out, with a note)
 */
export async function measureConsoleLoad(
  url: string,
  settings: ConsoleLoadSettings = CONSOLE_LOAD_DEFAULTS,
): Promise<ConsoleLoadResult | null> {
  if (!existsSync(CHROMIUM_PATH)) return null;
  const big = await prepare(url, settings);
  const chromium = await launchChromium();
  try {
    const listShown: Readiness = { topicRows: settings.topics };
    const listFilled: Readiness = { topicRows: settings.topics, figuresFilled: true };
    const partitionShown: Readiness = {
      highWatermarkText: settings.partitionRecords.toLocaleString('en-US'),
    };
    const times = { shown: [] as number[], filled: [] as number[], partition: [] as number[] };
    for (let load = 0; load < settings.loads; load++) {
      times.shown.push(await loadTime(chromium.browser, `${url}/console/#/topics`, listShown));
      times.filled.push(await loadTime(chromium.browser, `${url}/console/#/topics`, listFilled));
      times.partition.push(
        await loadTime(chromium.browser, `${url}/console/#/topics/${big}/partitions/0`, partitionShown),
      );
    }
    return {
      topics: settings.topics,
      partitionRecords: settings.partitionRecords,
      pages: [
        summary('topics', `all ${settings.topics} topics listed`, times.shown),
        summary('topics', 'every row with its records and tiers', times.filled),
        summary(
          'partition',
          `offset bar and first records of ${settings.partitionRecords.toLocaleString('en-US')}`,
          times.partition,
        ),
      ],
      bundle: await bundleBytes(),
    };
  } finally {
    await chromium.close();
  }
}

/** Issue 15's target: a page of the console loads in under a second on the local stack. */
export const CONSOLE_PAGE_LOAD_MS_MAX = 1000;

/** A goal of the bench report (the shape of `Goal` in run.ts, which imports this file). */
export interface ConsoleGoal {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly target: number;
  readonly met: boolean;
  readonly note: string;
}

/** The goal: the slower of the two pages' first meaningful view, at p50. */
export function consoleGoal(result: ConsoleLoadResult | null): ConsoleGoal {
  const firstViews = result?.pages.filter((row) => row.what !== 'every row with its records and tiers') ?? [];
  const slowest = Math.max(...firstViews.map((row) => row.p50Ms));
  const filled = result?.pages.find((row) => row.what === 'every row with its records and tiers');
  return {
    name: 'console page load under 1 s on the local stack (100 topics, a partition of 100,000 records)',
    value: result === null ? null : slowest,
    unit: 'ms p50, slower of: topic list shown, partition bar and first records shown',
    target: CONSOLE_PAGE_LOAD_MS_MAX,
    met: result !== null && slowest < CONSOLE_PAGE_LOAD_MS_MAX,
    note:
      result === null
        ? `not measured (needs the local stack and ${CHROMIUM_PATH})`
        : `every row's figures (100 topic descriptions, 8 at a time): p50 ${filled?.p50Ms} ms`,
  };
}

/** Bytes in KiB, one decimal. */
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** The section's table for the bench report. */
export function consoleLines(result: ConsoleLoadResult | null): string[] {
  if (result === null) return [`console page load: not measured (${CHROMIUM_PATH} not installed)`, ''];
  return [
    renderTable(
      ['console page load', 'p50 ms', 'max ms', 'loads'],
      result.pages.map((row) => [
        `${row.page}: ${row.what}`,
        String(row.p50Ms),
        String(row.maxMs),
        String(row.loads),
      ]),
      ['left', 'right', 'right', 'right'],
    ),
    `console files: first load ${kib(result.bundle.firstLoad.minifiedBytes)} minified (${kib(result.bundle.firstLoad.gzippedBytes)} gzipped), ` +
      `chunks loaded when needed ${kib(result.bundle.chunks.minifiedBytes)} (${kib(result.bundle.chunks.gzippedBytes)}); ` +
      `${result.topics} topics, a partition of ${result.partitionRecords.toLocaleString('en-US')} records`,
    '',
  ];
}

/** `npx tsx bench/console.ts`: this section alone, on a throwaway local stack. */
async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'shoal-console-bench-'));
  const stack = await startLocalStack({
    dataDir: scratch,
    port: 0,
    persistent: false,
    archiveIntervalMs: 0,
    dispatchSweepIntervalMs: 0,
  });
  try {
    const result = await measureConsoleLoad(stack.url);
    console.log(consoleLines(result).join('\n'));
    if (result) console.log(JSON.stringify(result, null, 2));
  } finally {
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

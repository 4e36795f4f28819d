/**
 * The web console in headless Chromium against a local stack: what a person does first (create a
 * topic, produce from the form, browse the records), watching a consumer group's lag fall to zero
 * on its chart, and reading the API's problem when a request is refused. Each page is captured at
 * desktop (1280 px) and phone (390 px) width: into a temporary folder, or into docs/console/ with
 * `npm run screenshots` (SHOAL_CONSOLE_SCREENSHOTS=docs/console), so `npm test` leaves the tree clean.
 *
 * Every wait is for a condition on the page, never a fixed sleep: the machine may be loaded.
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { type HeadlessChromium, launchChromium } from '../support/browser.js';
import { type ApiClient, apiClient, json, str } from '../support/http-client.js';
import { createTopic, produce } from '../support/subscriptions.js';

/** A JVM and a browser start on a possibly loaded 2-core machine. */
const START_TIMEOUT_MS = 180_000;
/** One test drives several pages and waits for polls. */
const TEST_TIMEOUT_MS = 120_000;
/** Longest wait for one condition on a page. */
const WAIT_MS = 45_000;

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let scratch: string;
let stack: LocalStack;
let api: ApiClient;
let chromium: HeadlessChromium;
let browser: Browser;
let screenshots: string;
let modules: string;

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'shoal-console-')));
  modules = join(scratch, 'modules');
  await mkdir(modules);
  screenshots = process.env.SHOAL_CONSOLE_SCREENSHOTS
    ? resolve(process.env.SHOAL_CONSOLE_SCREENSHOTS)
    : join(scratch, 'screenshots');
  await mkdir(screenshots, { recursive: true });
  [stack, chromium] = await Promise.all([
    startLocalStack({
      dataDir: join(scratch, 'data'),
      port: 0,
      persistent: false,
      moduleDirs: [modules],
      archiveIntervalMs: 0,
      dispatchSweepIntervalMs: 200,
    }),
    launchChromium(),
  ]);
  browser = chromium.browser;
  api = apiClient(stack.url);
}, START_TIMEOUT_MS);

afterAll(async () => {
  await chromium?.close();
  await stack?.stop();
  await rm(scratch, { recursive: true, force: true });
});

let names = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++names}`;

interface Opened {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Script errors and failed requests the page had: a working page has none. */
  readonly failures: string[];
}

/**
 * A fresh tab on the console at `route` (a hash route such as `#/groups/g`), or at `url` when given;
 * `onRequest` sees every request the page makes.
 */
async function open(
  route: string,
  viewport = DESKTOP,
  url = `${stack.url}/console/${route}`,
  onRequest: (url: string) => void = () => undefined,
): Promise<Opened> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const failures: string[] = [];
  page.on('pageerror', (error) => failures.push(`script error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('the server responded with a status of')) {
      failures.push(`console error: ${message.text()}`);
    }
  });
  page.on('requestfailed', (request) => failures.push(`request failed: ${request.url()}`));
  page.on('request', (request) => onRequest(request.url()));
  await page.goto(url);
  return { context, page, failures };
}

type Size = 'desktop' | 'phone';
const VIEWPORTS: Record<Size, typeof DESKTOP> = { desktop: DESKTOP, phone: PHONE };

/** Saves a fresh tab at `route` as `<name>.png` (desktop) and `<name>-phone.png`, once `ready`. */
async function capture(
  name: string,
  route: string,
  ready: (page: Page) => Promise<void>,
  sizes: readonly Size[] = ['desktop', 'phone'],
) {
  for (const size of sizes) {
    const { context, page } = await open(route, VIEWPORTS[size]);
    await ready(page);
    await save(page, size === 'desktop' ? name : `${name}-phone`);
    await context.close();
  }
}

/** Saves a screenshot of the whole page, after checking that nothing makes it wider than the screen. */
async function save(page: Page, name: string): Promise<void> {
  const widthPx = page.viewportSize()?.width;
  expect(await page.evaluate('document.documentElement.scrollWidth'), `${name} fits the screen`).toBe(
    widthPx,
  );
  await writeFile(join(screenshots, `${name}.png`), await page.screenshot({ fullPage: true }));
}

describe('the console', () => {
  it(
    'is served at / from the local stack, with its own files only',
    async () => {
      const loaded: string[] = [];

      const { context, page, failures } = await open('', DESKTOP, stack.url, (url) => loaded.push(url));

      await page.getByRole('heading', { name: 'Topics', level: 1 }).waitFor();
      expect(page.url()).toBe(`${stack.url}/console/`);
      expect(loaded).toContain(`${stack.url}/console/app.js`);
      expect(loaded.filter((url) => !url.startsWith(`${stack.url}/`))).toEqual([]);
      expect(failures).toEqual([]);
      await context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'creates a topic from the form and lists it with its figures',
    async () => {
      const topic = unique('orders');
      const { context, page, failures } = await open('#/topics');

      await page.getByLabel('Name').fill(topic);
      await page.getByLabel('Partitions').fill('2');
      await page.getByRole('button', { name: 'Create' }).click();

      const row = page.locator(`tr[data-topic="${topic}"]`);
      await row.waitFor();
      await expect
        .poll(() => row.locator('[data-field="records"]').textContent(), { timeout: WAIT_MS })
        .toBe('0');
      expect(await row.locator('td').first().textContent()).toBe('2');
      const described = await api.get(`/v1/topics/${topic}`);
      expect(described.body.partitionCount).toBe(2);
      expect(failures).toEqual([]);
      await context.close();
      await capture('topics', '#/topics', async (shown) => {
        await shown.locator(`tr[data-topic="${topic}"] [data-field="records"]`).getByText('0').waitFor();
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'produces a record from the form and browses it as JSON, text and hex, with its headers',
    async () => {
      const topic = unique('browse');
      await createTopic(api, topic, 1);
      await produce(api, topic, [{ key: str('other'), value: str('earlier') }]);
      const { context, page, failures } = await open(`#/topics/${topic}/partitions/0`);
      await page.locator('[data-field="highWatermark"]').getByText('1').waitFor();

      const form = page.getByRole('form', { name: 'Produce a record' });
      await form.getByLabel('Key', { exact: true }).fill('customer-7');
      await form.getByLabel('Value', { exact: true }).fill('{"total": 42, "items": ["tea"]}');
      await form.getByLabel('Headers').fill('trace: abc-123');
      await form.getByRole('button', { name: 'Produce' }).click();
      await form.getByText('Produced at offset 1.').waitFor();

      await page.getByRole('button', { name: 'Read' }).click();
      const record = page.locator('li.record[data-offset="1"]');
      await record.waitFor();
      expect(await record.locator('.record-key').textContent()).toBe('customer-7');
      expect(JSON.parse((await record.locator('.record-value').textContent()) ?? '')).toEqual({
        total: 42,
        items: ['tea'],
      });
      expect(await record.locator('.headers').textContent()).toBe('trace: abc-123');
      await page.getByLabel('Show as').selectOption('hex');
      await expect
        .poll(() => record.locator('.record-key').textContent(), { timeout: WAIT_MS })
        .toBe('63 75 73 74 6f 6d 65 72 2d 37');
      await page.getByLabel('Show as').selectOption('json');
      await page.getByLabel('Key contains').fill('customer');
      await expect.poll(() => page.locator('li.record').count(), { timeout: WAIT_MS }).toBe(1);
      // The API holds what the form sent: the JSON value as typed, the header as UTF-8.
      const fetched = await api.get(`/v1/topics/${topic}/partitions/0/records?offset=1`);
      expect(fetched.body.records[0].value).toEqual(json({ total: 42, items: ['tea'] }));
      expect(Buffer.from(fetched.body.records[0].headers[0].value, 'base64').toString()).toBe('abc-123');
      expect(failures).toEqual([]);
      await context.close();
      await capture('partition', `#/topics/${topic}/partitions/0`, async (shown) => {
        await shown.locator('li.record[data-offset="1"]').waitFor();
      });
      await capture('topic', `#/topics/${topic}`, async (shown) => {
        await shown.locator('[data-field="highWatermark"]').getByText('2').waitFor();
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "draws a group's lag falling to zero as a consumer catches up",
    async () => {
      const topic = unique('lagging');
      const group = unique('billing');
      const recordCount = 40;
      const step = 10;
      await createTopic(api, topic, 1);
      await produce(
        api,
        topic,
        Array.from({ length: recordCount }, (_, n) => ({ value: json({ n }) })),
      );
      const commit = async (offset: number) => {
        const answer = await api.post(`/v1/groups/${group}/offsets`, {
          offsets: [{ topic, partition: 0, offset }],
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      };
      await commit(0);
      const { context, page, failures } = await open(`#/groups/${group}`);
      const latestTotal = page.locator('.chart-value[data-series="total"]');
      await expect.poll(() => latestTotal.getAttribute('data-value'), { timeout: WAIT_MS }).toBe('40');

      // A standalone consumer reads a page and commits after it, until it has read everything.
      for (let offset = 0; offset < recordCount; offset += step) {
        const fetched = await api.get(
          `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=${step}`,
        );
        expect(fetched.body.records).toHaveLength(step);
        await commit(fetched.body.nextOffset);
        const lag = String(recordCount - fetched.body.nextOffset);
        await expect.poll(() => latestTotal.getAttribute('data-value'), { timeout: WAIT_MS }).toBe(lag);
      }

      // The chart's points (its text alternative) went from 40 down to 0, never up.
      const totals = (
        await page.locator('table.chart-points tbody tr td:nth-child(2)').allTextContents()
      ).map(Number);
      expect(totals[0]).toBe(recordCount);
      expect(totals.at(-1)).toBe(0);
      expect(totals).toEqual([...totals].sort((a, b) => b - a));
      expect(new Set(totals)).toEqual(new Set([40, 30, 20, 10, 0]));
      expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
      await page.locator('[data-field="lag"]').getByText('0').waitFor();
      expect(failures).toEqual([]);
      await save(page, 'group');
      await context.close();
      await capture(
        'group',
        `#/groups/${group}`,
        async (shown) => {
          await expect
            .poll(() => shown.locator('table.chart-points tbody tr').count(), { timeout: WAIT_MS })
            .toBeGreaterThanOrEqual(3);
        },
        ['phone'],
      );
      await capture(
        'groups',
        '#/groups',
        async (shown) => {
          await shown.getByRole('link', { name: group }).waitFor();
        },
        ['desktop'],
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails when the topic name is bad: the form shows the problem the API answered',
    async () => {
      const { context, page } = await open('#/topics');

      await page.getByLabel('Name').fill('no spaces allowed');
      await page.getByRole('button', { name: 'Create' }).click();

      const problem = page.getByRole('alert');
      await problem.waitFor();
      expect(await problem.locator('.problem-title').textContent()).toBe('Invalid request (400)');
      expect(await problem.locator('.problem-detail').textContent()).toBe(
        "name: may contain only ASCII letters, digits, '.', '_' and '-'",
      );
      const listed = await api.get('/v1/topics');
      expect(listed.body.topics.map((topic: { name: string }) => topic.name)).not.toContain(
        'no spaces allowed',
      );
      await save(page, 'problem');
      await context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "fails when the topic does not exist: the page shows the API's 404 problem",
    async () => {
      const { context, page } = await open('#/topics/no-such-topic');

      const problem = page.getByRole('alert');
      await problem.waitFor();

      expect(await problem.locator('.problem-title').textContent()).toBe('Topic not found (404)');
      expect(await problem.locator('.problem-detail').textContent()).toBe(
        "Topic 'no-such-topic' does not exist",
      );
      await context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "shows a subscription's errors and its dead-letter topic's records",
    async () => {
      const topic = unique('payments');
      const deadLetters = unique('payments-dlt');
      const name = unique('charge');
      await createTopic(api, topic, 1);
      await createTopic(api, deadLetters, 1);
      const module = join(modules, `${name}.mjs`);
      await writeFile(module, "export async function handler() { throw new Error('card declined'); }\n");
      const created = await api.post('/v1/subscriptions', {
        name,
        topic,
        target: { module },
        startingPosition: 'TRIM_HORIZON',
        maxBatchingWindowMs: 0,
        retryAttempts: 0,
        onFailure: { topic: deadLetters },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await produce(api, topic, [{ key: str('order-1'), value: json({ amount: 12 }) }]);
      const { context, page, failures } = await open(`#/subscriptions/${name}`);

      await page.getByText('card declined').first().waitFor();
      await page.locator('.card', { hasText: 'Dead-letter topic' }).locator('li.record').first().waitFor();
      expect(failures).toEqual([]);
      await save(page, 'subscription');
      await context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'draws records in and out per second once two samples are taken',
    async () => {
      const topic = unique('clicks');
      await createTopic(api, topic, 1);
      const { context, page, failures } = await open('#/throughput');
      await page.locator('.chart-value[data-series]').first().waitFor({ timeout: WAIT_MS });
      await produce(
        api,
        topic,
        Array.from({ length: 50 }, (_, n) => ({ value: json({ n }) })),
      );

      const rate = page.locator(
        `figure[aria-label="Records in per second"] .chart-value[data-series="${topic}"]`,
      );
      await expect
        .poll(async () => Number((await rate.getAttribute('data-value')) ?? 0), { timeout: WAIT_MS })
        .toBeGreaterThan(0);
      expect(failures).toEqual([]);
      await save(page, 'throughput');
      await context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'can be used with the keyboard: skip link, then the sections',
    async () => {
      const { context, page } = await open('#/topics');
      await page.getByRole('heading', { name: 'Topics', level: 1 }).waitFor();

      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Groups');
      await page.keyboard.press('Enter');

      await page.getByRole('heading', { name: 'Consumer groups', level: 1 }).waitFor();
      expect(page.url()).toBe(`${stack.url}/console/#/groups`);
      await context.close();
    },
    TEST_TIMEOUT_MS,
  );
});

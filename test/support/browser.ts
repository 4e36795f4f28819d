/**
 * Headless Chromium for the console's browser tests and the bench: Debian's package
 * (`/usr/bin/chromium`, installed by `.ci/run` when missing) driven by playwright-core, which
 * downloads no browser of its own. The flags keep it off the network: no background updates,
 * no sync, no QUIC probes; playwright gives each launch a fresh profile of its own.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A running browser; `close` ends it and never throws. */
export interface HeadlessChromium {
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium.
 *
 * @throws Error naming the package to install when `/usr/bin/chromium` is missing
 */
export async function launchChromium(): Promise<HeadlessChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install -y --no-install-recommends chromium), as .ci/run does`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
    },
  };
}

// Code passed to page.evaluate runs in Chromium: it is typed against the DOM.
/// <reference lib="dom" />
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { ROOT } from './helm.ts';
import { waitFor } from './ports.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, headless (with a fresh profile), kept off the network (this machine has none). */
export async function launchBrowser(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (hack/test.sh does this)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * Where a screenshot goes: .tap/screenshots/, to look at after a run; with
 * UPDATE_SCREENSHOTS=1 (hack/test.sh --update-screenshots FILE) the
 * committed docs/screenshots/ that the README and the guides show.
 */
export function screenshotPath(name: string): string {
  const dir = join(ROOT, process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : '.tap/screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

type Shown<T> = (page: Page) => Promise<T | undefined>;
interface PictureOptions {
  /** The element to picture; the whole page without one. */
  selector?: string;
  timeoutMs?: number;
}

/**
 * A page opened for a guide's picture, before what it is to show happens
 * (a page opened only after a switch would never show the state before).
 * take() waits until SHOWN finds on the page what the picture is about
 * (checked every second, while the page updates itself or SHOWN reloads
 * it), screenshots it as NAME, closes the page and resolves to what SHOWN
 * found, for the test to assert.
 */
export async function pageForPicture(browser: Browser, url: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  // A picture of a page without its stylesheet or script shows a bug, not the guide.
  const failed: string[] = [];
  page.on('requestfailed', (request) => {
    if (new URL(request.url()).pathname.startsWith('/assets/')) failed.push(`${request.url()}: ${request.failure()?.errorText}`);
  });
  // The pod may not answer yet (a release still rolling out): the waits cover it.
  await page.goto(url).catch(() => undefined);
  const until = <T>(what: string, shown: Shown<T>, timeoutMs: number) =>
    waitFor(`${url} to show ${what}`, () => shown(page), timeoutMs, {
      intervalMs: 1000,
      describe: async () =>
        `the page at ${page.url()} showed:\n${(await page.locator('body').innerText({ timeout: 5000 })).slice(0, 2000)}`,
    });
  return {
    page,
    until,
    async take<T>(name: string, shown: Shown<T>, { selector, timeoutMs = 180_000 }: PictureOptions = {}): Promise<T> {
      try {
        const found = await until(`what ${name} is about`, shown, timeoutMs);
        if (failed.length > 0) throw new Error(`${url}: its assets did not load: ${failed.join('; ')}`);
        const path = screenshotPath(name);
        await (selector ? page.locator(selector).screenshot({ path }) : page.screenshot({ path, fullPage: true }));
        return found;
      } finally {
        await page.close();
      }
    },
  };
}

/** pageForPicture and take() at once, for a state that lasts or that comes after the page is open. */
export async function pictureWhen<T>(
  browser: Browser,
  url: string,
  name: string,
  shown: Shown<T>,
  options: PictureOptions = {},
): Promise<T> {
  return (await pageForPicture(browser, url)).take(name, shown, options);
}

/** WCAG contrast ratio of two CSS colours (rgb()/rgba() as computed styles give them). */
export function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r = 0, g = 0, bl = 0] = (css.match(/[\d.]+/g) ?? []).map(Number);
    const linear = (c: number) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(bl);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Accessibility basics of the current page; answers the problems found. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const problems: string[] = await page.evaluate(() => {
    const found: string[] = [];
    const fields = [...document.querySelectorAll<HTMLInputElement>('input:not([type=hidden]), select, textarea')];
    for (const field of fields) {
      if ((field.labels?.length ?? 0) === 0 && !field.getAttribute('aria-label'))
        found.push(`field ${field.name || field.id} has no label`);
    }
    let previous = 0;
    for (const heading of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
      const level = Number(heading.tagName[1]);
      if (previous > 0 && level > previous + 1) found.push(`heading "${heading.textContent?.trim()}" skips from h${previous} to h${level}`);
      previous = level;
    }
    return found;
  });

  // Keyboard: Tab from the top must reach every enabled control.
  const controls = await page.evaluate(
    () =>
      [
        ...document.querySelectorAll<HTMLElement>(
          'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea',
        ),
      ].filter((el) => el.offsetParent !== null).length,
  );
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    document.querySelectorAll('[data-kbd-reached]').forEach((el) => el.removeAttribute('data-kbd-reached'));
  });
  for (let i = 0; i < controls + 5; i++) {
    await page.keyboard.press('Tab');
    await page.evaluate(() => document.activeElement?.setAttribute('data-kbd-reached', ''));
  }
  const unreached = await page.evaluate(() =>
    [
      ...document.querySelectorAll<HTMLElement>(
        'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea',
      ),
    ]
      .filter((el) => el.offsetParent !== null && !el.hasAttribute('data-kbd-reached'))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  for (const el of unreached) problems.push(`not reachable by keyboard: ${el}`);
  return problems;
}

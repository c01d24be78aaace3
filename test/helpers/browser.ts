// Code passed to page.evaluate runs in Chromium: it is typed against the DOM.
/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Test } from 'tap';

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

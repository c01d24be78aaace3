import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Queue, Worker } from 'bullmq';
import { MAIN, spawnService } from './helpers/process.ts';
import { startRedis } from './helpers/servers.ts';
import { waitFor } from './helpers/ports.ts';
import { freePort } from './helpers/ports.ts';
import { QUEUE_PREFIX } from '../service/src/queue/queues.ts';
import { accessibilityProblems, contrast, launchBrowser, screenshotPath } from './helpers/browser.ts';

// A learner's session in a real browser (Debian's Chromium through
// playwright-core) against the real local stack: `mail-worker all` with its
// embedded mail catcher, real Redis, SQLite. Its screenshots are the
// README's and the guides' (screenshotPath).

t.test('the dashboard in a browser', { timeout: 300_000 }, async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const data = mkdtempSync(join(tmpdir(), 'mw-e2e-'));
  const flagsFile = join(data, 'flags.json');
  const stack = await spawnService(t, 'all', {
    REDIS_URL: redis.url,
    DATABASE_URL: `file:${join(data, 'db.sqlite')}`,
    FLAGS_FILE: flagsFile,
    EMBEDDED_MAIL_CATCHER: 'true',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(await freePort()),
    SEND_RETRY_DELAY_MS: '20',
    SEND_RATE_LIMIT: '250',
    POD_NAME: 'e2e-pod',
    APP_VERSION: 'e2e',
  });
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // 4xx answers the test provokes are logged by Chromium as resource errors; script errors are what count.
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
  await page.goto(stack.url);

  await t.test('add a recipient; a bad email is refused with a message', async (t) => {
    await page.getByLabel('Name', { exact: true }).fill('Ada <Lovelace>');
    await page.getByLabel('Email', { exact: true }).fill('ada@e2e.test');
    await page.getByRole('button', { name: 'Add recipient' }).click();
    await page.getByText('Recipient added.').waitFor();
    t.ok(await page.getByRole('cell', { name: 'Ada <Lovelace>' }).isVisible(), 'shown as text, escaped');

    await page.getByLabel('Name', { exact: true }).fill('Bad Address');
    await page.getByLabel('Email', { exact: true }).fill('not-an-email');
    t.equal(
      await page.getByLabel('Email', { exact: true }).evaluate((el: HTMLInputElement) => el.validity.typeMismatch),
      true,
      "the browser's own check objects",
    );
    // Past the browser's check (as a script or an old browser would be), the server answers.
    await page.locator('form.add-form').evaluate((form: HTMLFormElement) => (form.noValidate = true));
    await page.getByRole('button', { name: 'Add recipient' }).click();
    await page.locator('#email-error').waitFor();
    t.match(await page.locator('#email-error').textContent(), /"not-an-email" is not a valid email address/);
    t.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Bad Address', 'what was typed is kept');
  });

  await t.test('import a CSV with invalid rows and see them reported', async (t) => {
    const rows = Array.from({ length: 1000 }, (_, i) => `Learner ${i},learner${i}@e2e.test`);
    const csv = ['name,email', ...rows, 'Broken,broken-address', ',nameless@e2e.test'].join('\n');
    const file = join(data, 'recipients.csv');
    writeFileSync(file, csv);
    await page.goto(stack.url);
    await page.getByLabel(/CSV file/).setInputFiles(file);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText(/Imported 1000, skipped 0 duplicates, 2 invalid rows\./).waitFor();
    t.ok(await page.getByRole('cell', { name: '"broken-address" is not a valid email address' }).isVisible());
    t.ok(await page.getByRole('cell', { name: 'name is empty' }).isVisible());
    t.match(await page.locator('#recipient-count').textContent(), /1001 stored/);
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
  });

  let runUrl = '';
  await t.test('a 1,000-mail run with 30% failures: the progress bar reaches 100% without a reload', async (t) => {
    await page.getByLabel(/Simulated failure rate/).fill('0.3');
    await page.getByRole('button', { name: 'Send 1,000' }).click();
    await page.waitForURL(/\/runs\/\d+/);
    runUrl = page.url();
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const bar = page.getByRole('progressbar', { name: /Run #\d+/ });
    const seen = new Set<string>();
    await waitFor(
      'the progress bar to reach 1000',
      async () => {
        const now = await bar.getAttribute('aria-valuenow');
        if (now) seen.add(now);
        if (seen.size === 3) await page.screenshot({ path: screenshotPath('run-in-progress.png') });
        return now === '1000';
      },
      120_000,
    );
    t.equal(navigations, 0, 'no reload happened');
    t.ok(seen.size >= 3, `the bar moved through ${seen.size} values`);
    await page.locator('[data-field="status"]', { hasText: /completed/ }).waitFor();
    t.match(await page.locator('[data-field="percent"]').textContent(), '100');
  });

  await t.test("the run's failures", async (t) => {
    await page.goto(runUrl);
    const failures = page.locator('table.failures tbody tr');
    const count = await failures.count();
    const failed = Number(await page.locator('[data-field="failed"]').textContent());
    t.equal(count, failed, 'every failure is listed');
    if (count > 0) t.match(await failures.first().textContent(), /4.*simulated failure/);
    const pods = page.locator('table.pods tbody tr');
    t.equal(await pods.count(), 1, 'one worker pod did the work');
    const cells = (await pods.first().locator('td').allTextContents()).map((c) => c.trim());
    const sent = Number(await page.locator('[data-field="sent"]').textContent());
    const retried = Number(await page.locator('[data-field="retried"]').textContent());
    t.same(cells, ['e2e-pod', 'e2e', String(sent), String(failed), String(retried)], 'its row: the pod, its version and all of the run');
    await page.screenshot({ path: screenshotPath('run-detail.png'), fullPage: true });
  });

  await t.test('the live panel: queues, workers, web pods and mails per second, updated without a reload', async (t) => {
    await page.goto(stack.url);
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const panel = page.getByRole('region', { name: /Live system/ });
    const shownAt = await panel.locator('h1 time').getAttribute('datetime');
    await waitFor('the panel to update itself', async () => (await panel.locator('h1 time').getAttribute('datetime')) !== shownAt, 10_000);
    t.equal(navigations, 0, 'app.js swapped in a fresh panel: no reload');
    const worker = panel.getByRole('table', { name: 'Live workers' }).locator('tbody tr');
    t.same(
      (await worker.locator('td').allTextContents()).slice(0, 3),
      ['e2e-pod', 'e2e', 'mail-default, mail-priority'],
      'the worker: its pod, its version, its queues',
    );
    const web = panel.getByRole('table', { name: 'Web pods' }).locator('tbody tr');
    const [webPod, webVersion, requests] = await web.locator('td').allTextContents();
    t.same([webPod, webVersion], ['e2e-pod', 'e2e'], 'the web pod that answers these pages: its pod, its version');
    t.ok(Number(requests) > 0, `and its requests per second (${requests})`);
    const queue = panel.getByRole('table', { name: 'Queues' }).locator('tr[data-queue="mail-default"] td');
    t.same(await queue.allTextContents(), ['0', '0', '0', await queue.last().textContent()], 'nothing waits, is active or delayed');
    t.ok((await panel.locator('svg rect.sent').count()) > 0, "the 1,000-mail run's bars in the chart");
    t.match(await panel.getByRole('img').getAttribute('aria-label'), /sent\/s.*failed\/s.*peak [\d.]+\/s/, 'the chart says its figures');
    await panel.screenshot({ path: screenshotPath('live-panel.png') });

    const noScript = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
    t.teardown(() => noScript.close());
    const plain = await noScript.newPage();
    await plain.goto(stack.url);
    t.same(
      await plain.locator('#system tr[data-queue="mail-default"] td').count(),
      4,
      'without JavaScript the panel still shows the figures of the page load',
    );
  });

  await t.test('a custom count is sent with the failure rate and relay latency typed above it', async (t) => {
    await page.goto(stack.url);
    await page.getByLabel(/Simulated failure rate/).fill('0');
    await page.getByLabel(/Simulated relay latency/).fill('40');
    await page.getByLabel('Custom count').fill('3');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.waitForURL(/\/runs\/\d+/);
    const facts = await page.locator('dl.facts').textContent();
    t.match(facts, /Simulated failure rate \(0 to 1\)\s*0\b/);
    t.match(facts, /Simulated relay latency per mail \(ms\)\s*40\b/);
  });

  await t.test('with no worker running, the run page says the mails wait, and stops saying it when one connects', async (t) => {
    // A web pod with no worker anywhere, as under KEDA at minReplicas 0.
    const idle = await startRedis();
    t.teardown(() => idle.stop());
    const env = {
      REDIS_URL: idle.url,
      DATABASE_URL: `file:${join(data, 'web-only.sqlite')}`,
      FLAGS_FILE: flagsFile,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(await freePort()),
    };
    execFileSync(process.execPath, [MAIN, 'migrate'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    const web = await spawnService(t, 'web', env);
    const post = (path: string, body: unknown) =>
      fetch(`${web.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.equal((await post('/api/recipients', { name: 'Waiting', email: 'waiting@example.test' })).status, 201);
    const { id } = (await (await post('/api/runs', { count: 1 })).json()) as { id: number };
    await page.goto(`${web.url}/runs/${id}`);
    const note = page.locator('[data-field="no-workers"]');
    await note.waitFor({ state: 'visible' });
    t.match(await note.textContent(), /No worker is running/, 'the page says no worker runs');
    // A worker connects (taking nothing: autorun off), as KEDA's first pod would.
    const worker = new Worker('mail-default', null, { connection: idle.client(), prefix: QUEUE_PREFIX, autorun: false });
    await worker.waitUntilReady();
    await note.waitFor({ state: 'hidden' });
    t.pass('app.js hid the note once the worker was counted, without a reload');
    await worker.close();
    await note.waitFor({ state: 'visible' });
    t.pass('and showed it again when the worker left');
  });

  await t.test('retry a failed job in bull-board; the run is not counted twice', async (t) => {
    const queue = new Queue('mail-default', { connection: redis.client(), prefix: QUEUE_PREFIX });
    t.teardown(() => queue.close());
    const failedBefore = await queue.getFailedCount();
    t.ok(failedBefore > 0, `${failedBefore} failed jobs to retry`);
    const before = await (await fetch(`${runUrl.replace('/runs/', '/api/runs/')}`)).json();
    await page.goto(`${stack.url}/queues/queue/mail-default?status=failed`);
    await page.getByRole('button', { name: 'Retry all' }).click();
    const confirm = page.getByRole('button', { name: /^(Confirm|Retry|Yes)/ }).last();
    if (await confirm.isVisible().catch(() => false)) await confirm.click();
    await waitFor('the failed jobs to be retried', async () => (await queue.getFailedCount()) === 0, 20_000);
    await page.screenshot({ path: screenshotPath('bull-board.png') });
    const after = await (await fetch(`${runUrl.replace('/runs/', '/api/runs/')}`)).json();
    t.same([after.sent, after.failed], [before.sent, before.failed], 'a retried job finds its outcome recorded and changes no count');
  });

  await t.test('open a caught mail', async (t) => {
    await page.goto(stack.url);
    await page.getByRole('link', { name: 'Mail catcher' }).click();
    await page.getByRole('heading', { name: 'Caught mail' }).waitFor();
    await page.screenshot({ path: screenshotPath('mail-catcher.png') });
    await page.locator('table.mails a').first().click();
    await page.getByText(/this is a test mail from send run #\d+/).waitFor();
    t.ok(await page.locator('iframe.mail-html').isVisible(), "the mail's HTML in a sandboxed frame");
  });

  await t.test('switch the UI to Japanese', async (t) => {
    await page.goto(stack.url);
    await page.getByRole('link', { name: '日本語' }).click();
    await page.getByRole('heading', { name: '一斉送信' }).waitFor();
    t.equal(await page.locator('html').getAttribute('lang'), 'ja');
    await page.screenshot({ path: screenshotPath('dashboard-ja.png') });
    await page.goto(runUrl);
    await page.getByRole('heading', { name: 'ワーカーポッド' }).waitFor();
    t.same(
      await page.locator('table.pods thead th').allTextContents(),
      ['ポッド', 'バージョン', '送信済み', '失敗', '再試行'],
      'the worker pods table in Japanese',
    );
    await page.goto(stack.url);
    const panel = page.getByRole('region', { name: /システムの状況/ });
    t.same(
      await panel.getByRole('table', { name: 'キュー' }).locator('thead th').allTextContents(),
      ['キュー', '待機', '処理中', '遅延', '失敗'],
      'the live panel in Japanese',
    );
    t.same(
      await panel.getByRole('table', { name: 'Web ポッド' }).locator('thead th').allTextContents(),
      ['ポッド', 'バージョン', 'リクエスト/秒', '5xx/秒'],
      'its web pods in Japanese',
    );
    t.match(await panel.getByRole('img').getAttribute('aria-label'), /送信 [\d.]+ 通\/秒/);
    const faults = page.getByRole('region', { name: 'ポッド e2e-pod の障害' });
    t.match(await faults.locator('[data-field="faults-now"]').textContent(), /現在：準備完了/, 'the faults panel in Japanese');
    t.ok(await faults.getByRole('button', { name: 'このポッドに適用' }).isVisible());
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Bulk send' }).waitFor();
  });

  await t.test('send buttons are disabled when bulk_send_feature is off', async (t) => {
    writeFileSync(flagsFile, JSON.stringify({ bulk_send_feature: false }));
    await page.goto(stack.url);
    t.ok(await page.getByRole('button', { name: 'Send 1,000' }).isDisabled());
    t.ok(await page.getByText('Bulk sending is switched off by the feature flag bulk_send_feature.').isVisible());
    writeFileSync(flagsFile, JSON.stringify({ bulk_send_feature: true }));
  });

  await t.test("this pod's faults from the dashboard: unready for a while, then back as deployed", async (t) => {
    await page.goto(stack.url);
    const panel = () => page.getByRole('region', { name: 'Faults of pod e2e-pod' });
    await panel()
      .getByLabel(/Unready for/)
      .fill('30');
    await panel().getByRole('button', { name: 'Apply to this pod' }).click();
    await page.getByText('The faults of pod e2e-pod changed.').waitFor();
    t.match(
      await panel().locator('[data-field="faults-now"]').textContent(),
      /Now: unready for \d+ more s · 0% of requests/,
      'the panel says so',
    );
    const readyz = await fetch(`${stack.url}/readyz`);
    t.equal(readyz.status, 503, '/readyz answers 503');
    t.match(await readyz.json(), { checks: { faults: false } }, 'naming the fault');
    await panel().getByRole('button', { name: 'Back to as deployed' }).click();
    await page.getByText('The faults of pod e2e-pod changed.').waitFor();
    t.match(await panel().locator('[data-field="faults-now"]').textContent(), /Now: ready · 0%/, 'ready again');
    t.equal((await fetch(`${stack.url}/readyz`)).status, 200, '/readyz answers 200');
  });

  await t.test('accessibility basics: labels, keyboard, headings, contrast', async (t) => {
    for (const url of [stack.url, runUrl, `${stack.url}/mail`]) {
      await page.goto(url);
      t.same(await accessibilityProblems(page), [], `${url}: labels, keyboard reach, heading order`);
    }
    await page.goto(stack.url);
    const colours = await page.evaluate(() => {
      const style = (selector: string) => getComputedStyle(document.querySelector(selector) as Element);
      const button = style('button');
      return {
        buttonText: button.color,
        buttonBackground: button.backgroundColor,
        sent: style('.bar .sent').backgroundColor,
        failed: style('.bar .failed').backgroundColor,
        track: style('.bar').backgroundColor,
        figures: style('.figures').color,
        panel: style('.panel').backgroundColor,
      };
    });
    t.ok(
      contrast(colours.buttonText, colours.buttonBackground) >= 4.5,
      `button text ${contrast(colours.buttonText, colours.buttonBackground).toFixed(1)}:1`,
    );
    t.ok(
      contrast(colours.sent, colours.track) >= 3,
      `sent segment against the track ${contrast(colours.sent, colours.track).toFixed(1)}:1`,
    );
    t.ok(
      contrast(colours.failed, colours.track) >= 3,
      `failed segment against the track ${contrast(colours.failed, colours.track).toFixed(1)}:1`,
    );
    t.ok(contrast(colours.figures, colours.panel) >= 4.5, `progress figures ${contrast(colours.figures, colours.panel).toFixed(1)}:1`);
  });

  t.same(errors, [], 'no script errors in the browser');
  t.same(stack.output().match(/"level":50.*/g) ?? [], [], 'no errors in the server log');
});

t.test(
  '/versions during a canary: each version its share, its errors and its p95, in English and Japanese',
  { timeout: 120_000 },
  async (t) => {
    // Two web processes, v1 healthy and v2 failing half its answers 60 ms
    // late (FAULT_*, as the canary guide's bad version), and a loopback proxy
    // in this test standing in for the Service: the page and its assets from
    // v1, the polls of /api/version to v1 and v2 in turn.
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const data = mkdtempSync(join(tmpdir(), 'mw-versions-'));
    const web = async (version: string, faults: Record<string, string>) => {
      const env = {
        REDIS_URL: redis.url,
        DATABASE_URL: `file:${join(data, `${version}.sqlite`)}`,
        FLAGS_FILE: join(data, 'flags.json'),
        APP_VERSION: version,
        POD_NAME: `web-${version}`,
        ...faults,
      };
      execFileSync(process.execPath, [MAIN, 'migrate'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
      return new URL((await spawnService(t, 'web', env)).url);
    };
    const stable = await web('v1', {});
    const canary = await web('v2', { FAULT_ERROR_RATE: '0.5', FAULT_DELAY_MS: '60' });
    let polls = 0;
    const proxy = createServer((request, response) => {
      const target = request.url === '/api/version' && polls++ % 2 === 1 ? canary : stable;
      const forward = httpRequest(
        { host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on('error', () => response.writeHead(502).end());
      request.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise((resolve) => proxy.close(resolve)));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/versions`);
    const squares = page.locator('.version-grid span');
    await waitFor('100 answers in the grid', async () => (await squares.count()) === 100, 60_000);
    // One read of grid and table together: the page polls on, and its window
    // of the last 100 answers moves between two reads.
    const seen = await page.evaluate(() => ({
      squares: [...document.querySelectorAll<HTMLElement>('.version-grid span')].map((s) => ({
        version: s.title.split(' ')[0] ?? '',
        failed: s.className === 'error',
        colour: getComputedStyle(s).color,
      })),
      rows: [...document.querySelectorAll<HTMLElement>('.version-shares tr[data-version]')].map((r) => ({
        version: r.dataset.version ?? '',
        cells: [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? ''),
        swatch: getComputedStyle(r.querySelector('.swatch') as Element).backgroundColor,
        bad: r.querySelectorAll('td.bad').length,
      })),
    }));
    const of = (version: string) => seen.squares.filter((s) => s.version === version);
    const row = (version: string) => seen.rows.find((r) => r.version === version);
    // The stand-in Service sends polls to v1 and v2 in turn; a poll that
    // found no answer on a loaded machine is the page's '?', shown as such.
    const lost = seen.squares.length - of('v1').length - of('v2').length;
    if (lost > 0) t.comment(`${lost} poll(s) without an answer: ${JSON.stringify(seen.rows.map((r) => r.cells))}`);
    t.ok(lost <= 2, `v1 and v2 answered ${100 - lost} of the 100 polls`);
    const [v1, v2] = [row('v1')?.cells ?? [], row('v2')?.cells ?? []];
    t.same([v1[0], v1[1], v1[2], v1[4]], ['v1', `${of('v1').length}%`, '0%', 'web-v1'], 'v1: its share of the grid, none failed');
    t.same([v2[0], v2[1], v2[4]], ['v2', `${of('v2').length}%`, 'web-v2'], 'v2: its share of the grid');
    t.ok(of('v1').length >= 48 && of('v2').length >= 48, `half the answers each: ${v1[1]} and ${v2[1]}`);
    const v2Errors = Number(v2[2]?.replace('%', ''));
    t.ok(v2Errors > 10 && v2Errors < 90, `v2's errors shown: ${v2[2]}`);
    t.ok(Number(v2[3]?.replace(' ms', '')) >= 60, `v2's p95 shows its delay: ${v2[3]} (v1 ${v1[3]})`);
    t.equal(row('v2')?.bad, 1, "v2's error share stands out");
    const colours = (version: string) => [...new Set(of(version).map((s) => s.colour))];
    t.same(
      [colours('v1'), row('v1')?.swatch, colours('v2'), row('v2')?.swatch],
      [['rgb(0, 114, 178)'], 'rgb(0, 114, 178)', ['rgb(230, 159, 0)'], 'rgb(230, 159, 0)'],
      'the version seen first takes the first colour of the palette, the second the second, in grid and table',
    );
    const failed = of('v2').filter((s) => s.failed).length;
    t.ok(failed > 0 && of('v1').every((s) => !s.failed), `${failed} red squares, all v2's, ringed in its colour`);
    await page.screenshot({ path: screenshotPath('versions.png') });

    await page.goto(`${url}/lang/ja`);
    await page.goto(`${url}/versions`);
    t.same(
      (await page.locator('.version-shares thead th').allTextContents()).map((c) => c.trim()),
      ['バージョン', '割合', 'エラー', 'p95', 'ポッド'],
      'in Japanese',
    );
    t.same(errors, [], 'no script errors in the browser');
  },
);

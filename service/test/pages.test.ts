import t from 'tap';
import { startApp, csrfFrom } from '../../test/helpers/app.ts';
import { startRedis } from '../../test/helpers/servers.ts';
import { multipartCsv } from '../../test/helpers/process.ts';
import { freePort } from '../../test/helpers/ports.ts';
import nodemailer from 'nodemailer';

t.test('HTML pages', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const smtpPort = await freePort();
  const service = await startApp(t, 'web', {
    REDIS_URL: redis.url,
    EMBEDDED_MAIL_CATCHER: 'true',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 's3cret-pass',
    SMTP_USER: 'smtp-user',
    SMTP_PASSWORD: 'smtp-secret-value',
  });
  const app = service.app!;
  const form = (url: string, fields: Record<string, string>, cookie: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      payload: new URLSearchParams(fields).toString(),
    });
  // Each subtest makes the data it reads, so any one of them can run alone.
  const addRecipient = async (email: string) => {
    const added = await app.inject({ method: 'POST', url: '/api/recipients', payload: { name: email.split('@')[0], email } });
    if (added.statusCode !== 201) throw new Error(`adding ${email}: ${added.statusCode} ${added.body}`);
  };
  const storedRecipients = async (): Promise<number> => (await app.inject({ method: 'GET', url: '/api/recipients?limit=1' })).json().total;

  await t.test('dashboard: security headers, no secrets, links', async (t) => {
    const page = await app.inject({ method: 'GET', url: '/' });
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-security-policy'], /script-src 'self'/);
    t.notMatch(page.headers['content-security-policy'], /upgrade-insecure-requests/, 'assets load over plain http on any host');
    t.equal(page.headers['x-content-type-options'], 'nosniff');
    t.match(page.headers['x-frame-options'], /SAMEORIGIN/);
    t.notMatch(page.body, /s3cret-pass|smtp-secret-value/, 'no secret in the HTML');
    t.match(page.body, /href="\/queues"/);
    t.match(page.body, /href="\/mail"/);
    t.match(page.body, /Served by pod .+, version \d+\.\d+\.\d+/);
  });

  await t.test('forms need their CSRF token', async (t) => {
    const { cookie } = await csrfFrom(service);
    const refused = await form('/recipients', { name: 'No Token', email: 'nt@pages.test' }, cookie);
    t.equal(refused.statusCode, 403);
    const forged = await form('/recipients', { name: 'Forged', email: 'f@pages.test', _csrf: 'forged' }, cookie);
    t.equal(forged.statusCode, 403);
    t.equal((await app.inject({ method: 'GET', url: '/api/recipients?q=pages.test' })).json().total, 0);
  });

  await t.test('add through the form; script in a name is shown escaped', async (t) => {
    const { token, cookie } = await csrfFrom(service);
    const added = await form('/recipients', { name: '<script>alert("x")</script>', email: 'xss@pages.test', _csrf: token }, cookie);
    t.equal(added.statusCode, 303);
    t.equal(added.headers.location, '/?notice=added');
    const page = await app.inject({ method: 'GET', url: '/?notice=added' });
    t.notMatch(page.body, /<script>alert/, 'never rendered as markup');
    t.match(page.body, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    t.match(page.body, /Recipient added\./);
  });

  await t.test('a bad form value re-renders with a message, keeping what was typed', async (t) => {
    const { token, cookie } = await csrfFrom(service);
    const bad = await form('/recipients', { name: 'Typed Name', email: 'not-an-email', _csrf: token }, cookie);
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /is not a valid email address/);
    t.match(bad.body, /value="Typed Name"/);
    t.match(bad.body, /aria-invalid="true" aria-describedby="email-error"/);
    await addRecipient('taken@pages.test');
    const duplicate = await form('/recipients', { name: 'Again', email: 'taken@pages.test', _csrf: token }, cookie);
    t.equal(duplicate.statusCode, 409);
    const tooMany = await form('/runs', { count: '99999', failureRate: '0', _csrf: token }, cookie);
    t.equal(tooMany.statusCode, 422);
    t.match(tooMany.body, new RegExp(`only ${await storedRecipients()} recipients are stored`));
    const badRate = await form('/runs', { count: '1', failureRate: '2', _csrf: token }, cookie);
    t.equal(badRate.statusCode, 422);
    t.match(badRate.body, /failureRate must be a number from 0 to 1/);
    const badLatency = await form('/runs', { count: '1', relayLatencyMs: '9999', _csrf: token }, cookie);
    t.equal(badLatency.statusCode, 422);
    t.match(badLatency.body, /relayLatencyMs must be a whole number of milliseconds from 0 to 5000/);
    t.match(badLatency.body, /id="relayLatencyMs" name="relayLatencyMs"[^>]*value="9999"/, 'the form keeps what was typed');
  });

  await t.test('the Japanese dashboard says what is wrong in Japanese', async (t) => {
    const { token, cookie } = await csrfFrom(service);
    const ja = `${cookie}; lang=ja`;
    const bad = await form('/recipients', { name: '  ', email: 'not-an-email', _csrf: token }, ja);
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /名前が空です/);
    t.match(bad.body, /&quot;not-an-email&quot; は有効なメールアドレスではありません/);
    const tooMany = await form('/runs', { count: '99999', failureRate: '0', _csrf: token }, ja);
    t.match(tooMany.body, /件数 99999 に対して登録済みの宛先は \d+ 件です/);
    const english = await form('/runs', { count: '99999', failureRate: '0', _csrf: token }, cookie);
    t.match(english.body, /count is 99999 but only \d+ recipients are stored/, 'and English without the cookie');
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie: 'lang=ja' } });
    t.match(page.body, /data-problems="[^"]*名前が空です/, "the script's texts for import rows, in Japanese");
  });

  await t.test('start a run from the form, see its page, resume offered only when incomplete', async (t) => {
    await addRecipient('run@pages.test');
    const { token, cookie } = await csrfFrom(service);
    const started = await form('/runs', { count: '1', failureRate: '0.5', relayLatencyMs: '120', _csrf: token }, cookie);
    t.equal(started.statusCode, 303);
    const location = started.headers.location as string;
    t.match(location, /^\/runs\/\d+\?notice=started&id=\d+$/);
    const page = await app.inject({ method: 'GET', url: location });
    t.equal(page.statusCode, 200);
    t.match(page.body, /Send run #\d+ started\./);
    t.match(page.body, /role="progressbar"/);
    t.match(page.body, /Simulated relay latency per mail \(ms\)<\/dt><dd>120</, 'the run shows its relay latency');
    t.notMatch(page.body, /Resume enqueue/);
    t.equal((await app.inject({ method: 'GET', url: '/runs/424242' })).statusCode, 404);
  });

  await t.test('import through the form, without JavaScript', async (t) => {
    const { token, cookie } = await csrfFrom(service);
    const { body, contentType } = multipartCsv('name,email\nForm One,one@form.test\nBad,bad');
    const response = await app.inject({
      method: 'POST',
      url: `/recipients/import?_csrf=${encodeURIComponent(token)}`,
      headers: { 'content-type': contentType, cookie },
      payload: body,
    });
    t.equal(response.statusCode, 200);
    t.match(response.body, /Imported 1, skipped 0 duplicates, 1 invalid rows\./);
    t.match(response.body, /<td>3<\/td><td>&quot;bad&quot; is not a valid email address<\/td>/);
    const japanese = await app.inject({
      method: 'POST',
      url: `/recipients/import?_csrf=${encodeURIComponent(token)}`,
      headers: { 'content-type': contentType, cookie: `${cookie}; lang=ja` },
      payload: body,
    });
    t.match(japanese.body, /<td>3<\/td><td>&quot;bad&quot; は有効なメールアドレスではありません<\/td>/, 'in Japanese too');
  });

  await t.test('English and Japanese: Accept-Language and the switch', async (t) => {
    const ja = await app.inject({ method: 'GET', url: '/', headers: { 'accept-language': 'ja-JP,ja;q=0.9,en;q=0.5' } });
    t.match(ja.body, /<html lang="ja"/);
    t.match(ja.body, /一斉送信/);
    const weighted = await app.inject({ method: 'GET', url: '/', headers: { 'accept-language': 'fr;q=0.9, ja;q=0.8, en;q=0.5' } });
    t.match(weighted.body, /<html lang="ja"/, 'the most wanted language the site has');
    const neither = await app.inject({ method: 'GET', url: '/', headers: { 'accept-language': 'fr, de' } });
    t.match(neither.body, /<html lang="en"/, 'English when none is had');
    const switched = await app.inject({ method: 'GET', url: '/lang/en' });
    t.equal(switched.statusCode, 303);
    const langCookie = switched.cookies.find((c) => c.name === 'lang');
    t.equal(langCookie?.value, 'en');
    const en = await app.inject({ method: 'GET', url: '/', headers: { 'accept-language': 'ja', cookie: 'lang=en' } });
    t.match(en.body, /Bulk send/, 'the switch wins over the browser language');
    const unknown = await app.inject({ method: 'GET', url: '/lang/xx' });
    t.equal(unknown.cookies.length, 0, 'an unknown language sets nothing');
  });

  await t.test('bull-board behind basic auth', async (t) => {
    t.equal((await app.inject({ method: 'GET', url: '/queues' })).statusCode, 401);
    const wrong = Buffer.from('admin:nope').toString('base64');
    t.equal((await app.inject({ method: 'GET', url: '/queues', headers: { authorization: `Basic ${wrong}` } })).statusCode, 401);
    const right = Buffer.from('admin:s3cret-pass').toString('base64');
    const board = await app.inject({ method: 'GET', url: '/queues', headers: { authorization: `Basic ${right}` } });
    t.equal(board.statusCode, 200);
    const queues = await app.inject({ method: 'GET', url: '/queues/api/queues', headers: { authorization: `Basic ${right}` } });
    t.same(
      queues
        .json()
        .queues.map((q: { name: string }) => q.name)
        .sort(),
      ['mail-default', 'mail-priority'],
    );
  });

  await t.test('the embedded mail catcher lists, shows and clears caught mail', async (t) => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });
    await transport.sendMail({
      from: 'a@x.test',
      to: 'b@x.test',
      subject: 'Hello <catcher>',
      text: 'plain body',
      html: '<p>html <script>bad()</script></p>',
    });
    transport.close();
    const list = await app.inject({ method: 'GET', url: '/mail' });
    t.match(list.body, /Hello &lt;catcher&gt;/);
    const id = /href="\/mail\/(\d+)"/.exec(list.body)?.[1];
    const one = await app.inject({ method: 'GET', url: `/mail/${id}` });
    t.match(one.body, /plain body/);
    t.match(one.body, /<iframe class="mail-html"[^>]* sandbox>/);
    const html = await app.inject({ method: 'GET', url: `/mail/${id}/html` });
    t.match(html.headers['content-security-policy'], /default-src 'none'.*sandbox/, "the mail's own HTML cannot run scripts");
    const { token, cookie } = await csrfFrom(service, '/mail');
    const cleared = await form('/mail/clear', { _csrf: token }, cookie);
    t.equal(cleared.statusCode, 303);
    t.match((await app.inject({ method: 'GET', url: '/mail' })).body, /No mail caught yet/);
  });

  await t.test('the version endpoint and page', async (t) => {
    const version = await app.inject({ method: 'GET', url: '/api/version' });
    t.same(version.json(), { version: service.config.appVersion, pod: service.config.podName });
    t.equal(version.headers.connection, 'close', 'each poll opens a new connection, so polls spread over pods');
    const page = await app.inject({ method: 'GET', url: '/versions' });
    t.equal(page.statusCode, 200);
    t.match(page.body, /<script src="\/assets\/versions.js" defer><\/script>/);
  });

  await t.test('health, readiness and metrics', async (t) => {
    const metrics = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const healthzCount = async () =>
      Number(/http_requests_total\{method="GET",route="\/healthz",status_code="200"\} (\d+)/.exec(await metrics())?.[1] ?? 0);
    const healthzBefore = await healthzCount();
    t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), {
      status: 'ready',
      checks: { database: true, redis: true, faults: true },
    });
    t.equal(await healthzCount(), healthzBefore + 1, 'http_requests_total counts the /healthz request');
    t.match(await metrics(), /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz",status_code="200"\}/);
    t.match(await metrics(), /\nnodejs_eventloop_lag_p99_seconds \d/, "the event loop's delay is still sampled, if more seldom");
    // A web process runs no worker: every job enqueued here is still waiting.
    await addRecipient('metrics@pages.test');
    t.equal((await app.inject({ method: 'POST', url: '/api/runs', payload: { count: 1 } })).statusCode, 202);
    const runs: { queue: string; enqueued: number }[] = (await app.inject({ method: 'GET', url: '/api/runs' })).json().items;
    const waiting = runs.filter((r) => r.queue === 'mail-default').reduce((sum, r) => sum + r.enqueued, 0);
    t.match(await metrics(), new RegExp(`bullmq_job_count\\{queue="mail-default",state="waiting"\\} ${waiting}\n`));

    await redis.stop();
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(notReady.statusCode, 503);
    t.same(notReady.json(), { status: 'not ready', checks: { database: true, redis: false, faults: true } });
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'liveness does not depend on Redis');
    await redis.start();
  });
});

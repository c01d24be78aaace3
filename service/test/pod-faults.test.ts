import t from 'tap';
import { csrfFrom, startApp } from '../../test/helpers/app.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { startRedis } from '../../test/helpers/servers.ts';

// Faults a running pod can be given (podinfo's idea), through the admin API
// and the dashboard's form, on the real service with a real Redis.

const ADMIN = { ADMIN_USER: 'admin', ADMIN_PASSWORD: 'faults-secret' };
const auth = { authorization: `Basic ${Buffer.from('admin:faults-secret').toString('base64')}` };

t.test("a pod's faults, changed at runtime", async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const service = await startApp(t, 'web', { REDIS_URL: redis.url, POD_NAME: 'faulty-pod', APP_VERSION: 'v3', ...ADMIN });
  const app = service.app!;
  // As the kubelet before the Service sends it requests: its Redis connection
  // may still be opening, and /readyz says so until it is.
  await waitFor('the pod to be ready', async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 10_000);
  const faults = (method: 'GET' | 'PUT' | 'DELETE', payload?: object, headers: Record<string, string> = auth) =>
    app.inject({ method, url: '/api/faults', headers, ...(payload ? { payload } : {}) });

  await t.test('behind the admin credentials', async (t) => {
    t.equal((await faults('GET', undefined, {})).statusCode, 401, 'none: 401');
    t.equal((await faults('PUT', { errorRate: 1 }, { authorization: 'Basic YWRtaW46d3Jvbmc=' })).statusCode, 401, 'wrong: 401');
    t.same((await faults('GET')).json(), { pod: 'faulty-pod', version: 'v3', errorRate: 0, delayMs: 0, unreadySeconds: 0 }, 'healthy');
  });

  await t.test('a share of 500s: every page and API request fails, the probes and the controls never', async (t) => {
    t.match((await faults('PUT', { errorRate: 1 })).json(), { pod: 'faulty-pod', errorRate: 1, delayMs: 0 });
    for (const url of ['/', '/api/recipients', '/api/version']) {
      const answer = await app.inject({ method: 'GET', url });
      t.equal(answer.statusCode, 500, `${url}: 500`);
      t.equal(answer.headers['x-mail-worker-pod'], 'faulty-pod', `${url}: naming the pod that failed`);
    }
    for (const url of ['/healthz', '/readyz', '/metrics'])
      t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url}: 200`);
    t.equal((await faults('GET')).statusCode, 200, 'the controls answer');
    t.match((await faults('DELETE')).json(), { errorRate: 0 }, 'cleared');
    t.equal((await app.inject({ method: 'GET', url: '/api/recipients' })).statusCode, 200, 'and the API answers again');
  });

  await t.test('a delay: each request waits, the probes do not', async (t) => {
    await faults('PUT', { delayMs: 300 });
    const started = performance.now();
    t.equal((await app.inject({ method: 'GET', url: '/api/version' })).statusCode, 200);
    const waited = performance.now() - started;
    t.ok(waited >= 300, `/api/version took ${waited.toFixed(0)} ms`);
    const probe = performance.now();
    await app.inject({ method: 'GET', url: '/healthz' });
    t.ok(performance.now() - probe < 300, '/healthz did not wait');
    await faults('PUT', { delayMs: 0 });
  });

  await t.test('unready for a while: /readyz 503 naming why, /healthz 200, then ready by itself', async (t) => {
    t.match((await faults('PUT', { unreadySeconds: 2 })).json(), { unreadySeconds: 2 });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 503, '/readyz: 503, so the Service stops sending it requests');
    t.match(ready.json(), { checks: { faults: false, database: true, redis: true } }, 'the check that fails is named');
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, '/healthz: 200, so the kubelet lets it live');
    t.equal((await app.inject({ method: 'GET', url: '/api/recipients' })).statusCode, 200, 'a request that still reaches it is answered');
    await waitFor('the pod to be ready again', async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 5000);
    t.same((await faults('GET')).json().unreadySeconds, 0, 'ready again, as said');
  });

  await t.test('bad values: 400 naming the field, nothing changed', async (t) => {
    await faults('PUT', { errorRate: 0.25 });
    for (const [body, field] of [
      [{ errorRate: 1.5 }, 'errorRate'],
      [{ delayMs: -1 }, 'delayMs'],
      [{ delayMs: 60_001 }, 'delayMs'],
      [{ unreadySeconds: 601 }, 'unreadySeconds'],
      [{ unreadySeconds: 1.5 }, 'unreadySeconds'],
      [{ errorRate: 'all' }, 'errorRate'],
    ] as const) {
      const answer = await faults('PUT', body);
      t.equal(answer.statusCode, 400, JSON.stringify(body));
      t.match(answer.body, field, `${JSON.stringify(body)}: names ${field}`);
    }
    t.match((await faults('GET')).json(), { errorRate: 0.25, delayMs: 0, unreadySeconds: 0 }, 'the faults as they were');
    await faults('DELETE');
  });

  await t.test('from another site: refused', async (t) => {
    const answer = await faults('PUT', { errorRate: 1 }, { ...auth, 'sec-fetch-site': 'cross-site' });
    t.equal(answer.statusCode, 403);
    t.match((await faults('GET')).json(), { errorRate: 0 }, 'nothing changed');
  });

  await t.test("the dashboard's form: apply, a bad value, back to as deployed", async (t) => {
    const page = await app.inject({ method: 'GET', url: '/' });
    t.match(page.body, /Faults of pod faulty-pod/);
    t.match(page.body, /Now: ready · 0% of requests answered 500 · 0 ms added to each/);
    const { token, cookie } = await csrfFrom(service);
    const post = (form: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/faults',
        headers: { ...auth, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: token, ...form }).toString(),
      });
    const applied = await post({ unreadySeconds: '60', errorRate: '0.5', delayMs: '' });
    t.equal(applied.statusCode, 303);
    t.match(applied.headers.location, '/?notice=faults&id=faulty-pod');
    t.match((await faults('GET')).json(), { errorRate: 0.5, delayMs: 0, unreadySeconds: 60 }, 'an empty field changes nothing');
    const refused = await post({ errorRate: '2' });
    t.equal(refused.statusCode, 400);
    t.match(refused.body, /out of its bounds/);
    t.match((await faults('GET')).json(), { errorRate: 0.5 }, 'nothing changed');
    const unauthenticated = await app.inject({
      method: 'POST',
      url: '/faults',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, errorRate: '1' }).toString(),
    });
    t.equal(unauthenticated.statusCode, 401, 'the form needs the admin credentials too');
    t.equal((await post({ clear: '1' })).statusCode, 303);
    t.match((await faults('GET')).json(), { errorRate: 0, unreadySeconds: 0 }, 'back to as deployed');
  });
});

t.test('clearing goes back to the faults the pod was deployed with (FAULT_*), not to none', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const service = await startApp(t, 'web', { REDIS_URL: redis.url, FAULT_ERROR_RATE: '0.1', FAULT_DELAY_MS: '5' });
  const app = service.app!;
  t.match((await app.inject({ method: 'PUT', url: '/api/faults', payload: { errorRate: 0, delayMs: 0 } })).json(), { errorRate: 0 });
  t.match((await app.inject({ method: 'DELETE', url: '/api/faults' })).json(), { errorRate: 0.1, delayMs: 5 }, 'a bad version stays bad');
});

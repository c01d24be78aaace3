import t from 'tap';
import { startApp } from '../../test/helpers/app.ts';
import { startRedis } from '../../test/helpers/servers.ts';

// Every JSON API route has a schema: requests are refused by it with the
// field named, responses are serialized by it, and /openapi.json is
// generated from it.

t.test('the JSON API described and enforced by its schemas', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const service = await startApp(t, 'web', { REDIS_URL: redis.url });
  const app = service.app!;

  await t.test('/openapi.json describes every JSON API operation and nothing else', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    t.equal(response.statusCode, 200);
    const document = response.json() as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>;
    };
    t.equal(document.openapi, '3.1.0');
    t.equal(document.info.version, service.config.appVersion);
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    t.same(operations.sort(), [
      'DELETE /api/faults',
      'DELETE /api/recipients/{id}',
      'GET /api/faults',
      'GET /api/flags',
      'GET /api/recipients',
      'GET /api/runs',
      'GET /api/runs/{id}',
      'GET /api/system',
      'GET /api/version',
      'POST /api/recipients',
      'POST /api/recipients/import',
      'POST /api/runs',
      'POST /api/runs/{id}/resume',
      'PUT /api/faults',
    ]);
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const success = Object.keys(operation.responses).find((status) => status.startsWith('2'));
        t.ok(success, `${method} ${path} declares its success response`);
      }
    }
    const runStatus = (
      document.paths['/api/runs/{id}']?.get?.responses['200']?.content as Record<string, { schema: { properties: object } }>
    )['application/json']?.schema.properties;
    t.match(Object.keys(runStatus ?? {}), ['id', 'total', 'enqueued', 'sent', 'failed', 'retried', 'status'], 'a run, field by field');
  });

  await t.test('/api/docs is a page for reading and trying the API, linked from the dashboard', async (t) => {
    const docs = await app.inject({ method: 'GET', url: '/api/docs' });
    t.equal(docs.statusCode, 200);
    t.match(docs.headers['content-type'], /text\/html/);
    t.match((await app.inject({ method: 'GET', url: '/' })).body, /<a href="\/api\/docs">API<\/a>/);
  });

  await t.test('a refusal names the field and says what it must be', async (t) => {
    const cases: Array<[string, string, unknown, number, RegExp, Record<string, RegExp>?]> = [
      ['GET', '/api/runs?limit=0', undefined, 400, /^limit must be a whole number from 1 to 200$/],
      ['GET', '/api/runs?limit=many', undefined, 400, /^limit must be a whole number from 1 to 200$/],
      ['GET', '/api/runs/0', undefined, 400, /^id must be a whole number from 1 to 2147483647$/],
      // Beyond PostgreSQL's integer: refused before it reaches the database.
      ['GET', '/api/runs/3000000000', undefined, 400, /^id must be a whole number from 1 to 2147483647$/],
      ['POST', '/api/runs/x/resume', undefined, 400, /^id must be a whole number/],
      ['DELETE', '/api/recipients/-1', undefined, 400, /^id must be a whole number/],
      ['GET', `/api/recipients?q=${'a'.repeat(201)}`, undefined, 400, /^q must be text of at most 200 characters$/],
      ['GET', '/api/recipients?offset=x', undefined, 400, /^offset must be a whole number of at least 0$/],
      [
        'POST',
        '/api/recipients',
        { name: 7, email: true },
        400,
        /^name must be a string; email must be a string$/,
        { name: /^name must be a string$/, email: /^email must be a string$/ },
      ],
      ['POST', '/api/recipients', { email: 'a@b.test' }, 400, /^name is required$/, { name: /^name is required$/ }],
      ['POST', '/api/runs', { count: '10' }, 422, /^count must be a whole number from 1 to 100000$/, { count: /count/ }],
      ['POST', '/api/runs', { count: 10, failureRate: null }, 422, /^failureRate must be a number from 0 to 1$/],
      ['POST', '/api/runs', 'not an object', 422, /^expected a JSON object with count and failureRate and relayLatencyMs$/],
    ];
    for (const [method, url, body, status, message, details] of cases) {
      const response = await app.inject({
        method: method as 'GET',
        url,
        ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      const what = `${method} ${url.slice(0, 60)} ${body === undefined ? '' : JSON.stringify(body)}`;
      t.equal(response.statusCode, status, what);
      t.match(response.json(), { error: message, ...(details ? { details } : {}) }, what);
    }
    t.same((await app.inject({ method: 'GET', url: '/api/runs' })).json(), { items: [] }, 'no run was stored');
  });

  await t.test("a user's mistake carries a stable code and its parameters beside the English", async (t) => {
    const recipient = await app.inject({ method: 'POST', url: '/api/recipients', payload: { name: ' ', email: 'nope' } });
    t.match(recipient.json(), {
      error: 'name is empty; "nope" is not a valid email address',
      details: { name: 'name is empty', email: '"nope" is not a valid email address' },
      problems: {
        name: { code: 'recipient.name.empty', params: {} },
        email: { code: 'recipient.email.invalid', params: { email: '"nope"' } },
      },
    });
    const run = await app.inject({ method: 'POST', url: '/api/runs', payload: { count: 5 } });
    t.equal(run.statusCode, 422);
    t.same(run.json(), {
      error: 'count is 5 but only 0 recipients are stored: add or import more first',
      code: 'run.count.too_large',
      params: { count: 5, stored: 0 },
    });
    const empty = await app.inject({ method: 'POST', url: '/api/recipients/import', headers: { 'content-type': 'text/csv' }, payload: '' });
    t.match(empty.json(), { code: 'import.empty', params: {} });
    const rows = await app.inject({
      method: 'POST',
      url: '/api/recipients/import',
      headers: { 'content-type': 'text/csv' },
      payload: 'name,email\nA,a@codes.test\n,b@codes.test\n',
    });
    t.match(rows.json(), { imported: 1, invalid: [{ line: 3, reason: 'name is empty', problems: [{ code: 'recipient.name.empty' }] }] });
    await app.inject({
      method: 'DELETE',
      url: `/api/recipients/${(await app.inject({ method: 'GET', url: '/api/recipients' })).json().items[0].id}`,
    });
  });

  await t.test('defaults fill what a request leaves out', async (t) => {
    const page = (await app.inject({ method: 'GET', url: '/api/recipients' })).json();
    t.same(page, { total: 0, items: [] });
    t.equal((await app.inject({ method: 'GET', url: '/api/runs?limit=200' })).statusCode, 200);
  });
});

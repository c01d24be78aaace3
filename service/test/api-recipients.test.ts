import t from 'tap';
import { connect, type Socket } from 'node:net';
import { setTimeout } from 'node:timers/promises';
import { startApp } from '../../test/helpers/app.ts';
import { startRedis } from '../../test/helpers/servers.ts';
import { multipartCsv } from '../../test/helpers/process.ts';

t.test('recipients API', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const service = await startApp(t, 'web', { REDIS_URL: redis.url, IMPORT_MAX_BYTES: String(64 * 1024), IMPORT_MAX_ROWS: '500' });
  const app = service.app!;
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/recipients', payload: payload as object });
  const importCsv = (csv: string) =>
    app.inject({ method: 'POST', url: '/api/recipients/import', headers: { 'content-type': 'text/csv' }, payload: csv });
  /** A JSON-typed body sent as is, however broken or large. */
  const postJsonText = (url: string, text: string) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: text });
  const list = async (query = '') => (await app.inject({ method: 'GET', url: `/api/recipients${query}` })).json();

  await t.test('add, list, duplicate, delete', async (t) => {
    const created = await post({ name: 'Ann', email: 'ann@api.test' });
    t.equal(created.statusCode, 201);
    const ann = created.json();
    t.match(ann, { id: Number, name: 'Ann', email: 'ann@api.test', createdAt: String });

    const duplicate = await post({ name: 'Ann 2', email: 'ANN@api.test' });
    t.equal(duplicate.statusCode, 409);
    t.match(duplicate.json(), { error: /already exists/ });

    t.match(await list(), { total: 1, items: [{ id: ann.id, email: 'ann@api.test' }] });
    t.equal((await app.inject({ method: 'DELETE', url: `/api/recipients/${ann.id}` })).statusCode, 204);
    t.equal((await app.inject({ method: 'DELETE', url: `/api/recipients/${ann.id}` })).statusCode, 404);
    t.equal((await list()).total, 0);
  });

  await t.test('pagination and search through the API', async (t) => {
    for (let i = 0; i < 30; i++) t.equal((await post({ name: `Page ${i}`, email: `page${i}@api.test` })).statusCode, 201);
    const page = await list('?limit=10&offset=25');
    t.equal(page.total, 30);
    t.equal(page.items.length, 5);
    t.equal((await list('?q=page1')).total, 11, 'page1 and page10..19');
  });

  await t.test('bad input: a 4xx naming the problem, nothing stored', async (t) => {
    const before = (await list()).total;
    const cases: Array<[string, unknown, RegExp]> = [
      ['missing fields', {}, /name is required; email is required/],
      ['wrong types', { name: 42, email: ['a@b.test'] }, /name must be a string; email must be a string/],
      ['empty strings', { name: '  ', email: '' }, /name is empty; email is empty/],
      ['a huge name', { name: 'x'.repeat(10_000), email: 'huge@api.test' }, /longer than 200/],
      ['CRLF in a name', { name: 'Eve\r\nBcc: x@y.test', email: 'eve@api.test' }, /line break/],
      ['an invalid email', { name: 'Bad', email: 'bad@' }, /not a valid email/],
      ['unicode email', { name: 'Uni', email: 'ユーザー@例え.jp' }, /not a valid email/],
      ['an array body', [], /expected a JSON object/],
    ];
    for (const [what, body, message] of cases) {
      const response = await post(body);
      t.equal(response.statusCode, 400, what);
      t.match(response.json(), { error: message, details: Object }, what);
    }
    const broken = await postJsonText('/api/recipients', '{"name": ');
    t.equal(broken.statusCode, 400, 'malformed JSON');
    t.match(broken.json(), { error: /JSON/i });
    const tooBig = await postJsonText('/api/recipients', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), email: 'big@api.test' }));
    t.equal(tooBig.statusCode, 413, 'a body over the limit');
    for (const query of ['?limit=0', '?limit=1000', '?limit=abc', '?offset=-1', '?offset=1.5']) {
      const response = await app.inject({ method: 'GET', url: `/api/recipients${query}` });
      t.equal(response.statusCode, 400, query);
      t.match(response.json(), { error: /(limit|offset) must be a whole number/ }, query);
    }
    t.equal((await app.inject({ method: 'DELETE', url: '/api/recipients/abc' })).statusCode, 400);
    t.equal((await list()).total, before);
  });

  await t.test('unicode and HTML in names are stored as given', async (t) => {
    const response = await post({ name: '山田 <b>太郎</b>', email: 'yamada@api.test' });
    t.equal(response.statusCode, 201);
    t.equal(response.json().name, '山田 <b>太郎</b>');
  });

  await t.test('import as text/csv and as multipart', async (t) => {
    const csv = 'name,email\nCsv One,one@import.test\nCsv Two,two@import.test\nBroken,broken\n';
    const plain = await importCsv(csv);
    t.equal(plain.statusCode, 200);
    t.same(plain.json(), {
      imported: 2,
      duplicates: 0,
      invalid: [
        {
          line: 4,
          reason: '"broken" is not a valid email address',
          problems: [{ code: 'recipient.email.invalid', params: { email: '"broken"' } }],
        },
      ],
      invalidCount: 1,
    });

    const { body, contentType } = multipartCsv('email,name\none@import.test,Dup\nthree@import.test,Three');
    const multipart = await app.inject({
      method: 'POST',
      url: '/api/recipients/import',
      headers: { 'content-type': contentType },
      payload: body,
    });
    t.equal(multipart.statusCode, 200);
    t.match(multipart.json(), { imported: 1, duplicates: 1 });
  });

  await t.test('import refusals: 400 and 413, nothing stored', async (t) => {
    const before = (await list()).total;
    const bigRows = Array.from({ length: 3000 }, (_, i) => `Big ${i},big${i}@import.test`).join('\n');
    const tooLarge = await importCsv(`name,email\n${bigRows}`);
    t.equal(tooLarge.statusCode, 413);
    t.match(tooLarge.json(), { error: /larger than the import limit/ });
    // The same file as a form's upload: multipart ends it at the limit
    // without an error, and its first part must not be stored as the whole.
    const tooLargeForm = multipartCsv(`name,email\n${bigRows}`);
    const cutShort = await app.inject({
      method: 'POST',
      url: '/api/recipients/import',
      headers: { 'content-type': tooLargeForm.contentType },
      payload: tooLargeForm.body,
    });
    t.equal(cutShort.statusCode, 413, 'an oversized multipart file: 413');
    t.match(cutShort.json(), { error: /larger than the import limit/ });
    const manyRows = Array.from({ length: 501 }, (_, i) => `R${i},r${i}@rows.test`).join('\n');
    const tooMany = await importCsv(`name,email\n${manyRows}`);
    t.equal(tooMany.statusCode, 400);
    t.match(tooMany.json(), { error: /more than the import limit of 500 rows/ });
    const noHeader = await importCsv('a@b.test,A\n');
    t.equal(noHeader.statusCode, 400);
    const noFile = await postJsonText('/api/recipients/import', '{}');
    t.equal(noFile.statusCode, 415, 'JSON is not an accepted import body');
    t.equal((await list()).total, before);
  });

  // On one keep-alive connection, as Traefik holds one to a pod: the faults
  // guide's 30 MB file through the Ingress, answered mid-upload, left the
  // connection inside its body, and the guide's next call down it was read
  // as the rest of that body and never answered (a 502 after 72 s).
  await t.test('an upload over the limit is answered once it has ended, and its connection serves the next call', async (t) => {
    const limit = service.config.import.maxBytes;
    const socket = await connection(service.url!);
    socket.write(
      `POST /api/recipients/import HTTP/1.1\r\nhost: api.test\r\ncontent-type: text/csv\r\ncontent-length: ${limit * 1.5}\r\n\r\n`,
    );
    socket.write('x'.repeat(limit + 1024));
    // An uploader paused past the limit, as a slow one is.
    await setTimeout(500);
    t.equal(socket.received(), '', 'nothing answered while the upload goes on');
    socket.write('x'.repeat(limit * 0.5 - 1024));
    const refused = await socket.response();
    t.equal(refused.status, 413, 'a 413 once it has ended');
    t.not(refused.headers.connection, 'close', 'the connection stays open');
    socket.write('GET /api/version HTTP/1.1\r\nhost: api.test\r\n\r\n');
    t.equal((await socket.response()).status, 200, 'the next call on it is answered');
    socket.end();
  });

  await t.test('an upload far over the limit is refused at once, and the connection goes with the 413', async (t) => {
    const limit = service.config.import.maxBytes;
    const socket = await connection(service.url!);
    socket.write(
      `POST /api/recipients/import HTTP/1.1\r\nhost: api.test\r\ncontent-type: text/csv\r\ncontent-length: ${limit * 100}\r\n\r\n`,
    );
    socket.write('x'.repeat(limit * 3));
    const refused = await socket.response();
    t.equal(refused.status, 413, 'a 413 past twice the limit, before the upload ends');
    t.equal(refused.headers.connection, 'close', 'saying the connection closes');
    await socket.closed;
    t.pass('and it closed');
  });

  await t.test('cross-site writes are refused', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/recipients',
      headers: { 'sec-fetch-site': 'cross-site' },
      payload: { name: 'Csrf', email: 'csrf@api.test' },
    });
    t.equal(response.statusCode, 403);
    const fromOrigin = await app.inject({
      method: 'POST',
      url: '/api/recipients',
      headers: { origin: 'https://evil.example' },
      payload: { name: 'Csrf', email: 'csrf@api.test' },
    });
    t.equal(fromOrigin.statusCode, 403);
    t.equal((await list('?q=csrf')).total, 0);
  });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
}

/**
 * An HTTP/1.1 connection written by hand, as a proxy holds one to a pod:
 * what it has received, and each response in turn as it completes.
 */
async function connection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  let waiting: (() => void) | undefined;
  socket.setEncoding('utf8').on('data', (text: string) => {
    received += text;
    waiting?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  /** The first complete response in what was received, taken out of it. */
  const take = (): RawResponse | undefined => {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = received.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (received.length < end + 4 + length) return undefined;
    received = received.slice(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers };
  };
  return {
    write: (text: string) => socket.write(text),
    end: () => socket.end(),
    received: () => received,
    closed,
    response: async (): Promise<RawResponse> => {
      for (;;) {
        const response = take();
        if (response) return response;
        if (socket.destroyed) throw new Error(`the connection closed after: ${JSON.stringify(received.slice(0, 300))}`);
        await Promise.race([new Promise<void>((resolve) => (waiting = resolve)), closed]);
      }
    },
  };
}

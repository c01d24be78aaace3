import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { startApp } from '../../test/helpers/app.ts';
import { createDatabase, startPostgres, startRedis } from '../../test/helpers/servers.ts';

// The CSV import, fuzzed over HTTP with generated files (fast-check): the
// route Schemathesis leaves out (fuzz.test.ts), since the OpenAPI document
// can only say its body is a file. Files are built from records, so the
// test knows how many rows each holds, then sent well formed or broken
// (unbalanced quotes, NUL, bytes that are not UTF-8, no header, a cut-off
// upload) as text/csv or multipart, under small size and row limits. Every
// answer must be one the document lists with its body, never a 5xx, and the
// store must move by exactly what the answer says: a refused file stores
// nothing. On SQLite and on PostgreSQL, which the chart runs.

const MAX_BYTES = 2048;
const MAX_ROWS = 30;
const RUNS = 150;

/** A field as people's spreadsheets hold them: names, addresses, commas, quotes, line breaks, blanks, any script. */
const field = fc.oneof(
  fc.emailAddress(),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('', '  ', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', 'Zoë Ångström', '山田 太郎', '=cmd|x', 'x'.repeat(250)),
);

const headerName = (name: string) => fc.constantFrom(name, name.toUpperCase(), ` ${name} `, `${name[0]!.toUpperCase()}${name.slice(1)}`);

/** Columns in any order, with extra ones beside name and email. */
const header = fc
  .tuple(headerName('name'), headerName('email'), fc.array(fc.constantFrom('phone', 'note', 'id', ''), { maxLength: 2 }))
  .chain(([name, email, extra]) => fc.shuffledSubarray([name, email, ...extra], { minLength: 2 + extra.length }));

interface Csv {
  text: string;
  /** Data rows with at least one non-blank field: the ones the importer reads. */
  rows: number;
}

const quote = (value: string, always: boolean) => (always || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

const wellFormed: fc.Arbitrary<Csv> = header.chain((columns) =>
  fc
    .record({
      rows: fc.array(fc.array(field, { minLength: columns.length, maxLength: columns.length }), { maxLength: MAX_ROWS + 10, size: 'max' }),
      newline: fc.constantFrom('\n', '\r\n'),
      alwaysQuote: fc.boolean(),
      bom: fc.boolean(),
      trailingNewline: fc.boolean(),
      blankLines: fc.nat({ max: 2 }),
    })
    .map(({ rows, newline, alwaysQuote, bom, trailingNewline, blankLines }) => {
      const line = (values: string[]) => values.map((v) => quote(v, alwaysQuote)).join(',');
      const lines = [line(columns), ...rows.map(line), ...Array<string>(blankLines).fill('')];
      return {
        text: `${bom ? '\uFEFF' : ''}${lines.join(newline)}${trailingNewline ? newline : ''}`,
        rows: rows.filter((r) => r.some((v) => v.trim() !== '')).length,
      };
    }),
);

/** A well-formed file broken in one way, as bytes. */
const broken: fc.Arbitrary<Uint8Array> = fc
  .tuple(wellFormed, fc.constantFrom('unbalanced quote', 'NUL', 'not UTF-8', 'no header', 'cut off', 'random bytes', 'empty'), fc.nat())
  .chain(([csv, how, at]) => {
    const bytes = new TextEncoder().encode(csv.text);
    const cut = bytes.length === 0 ? 0 : at % bytes.length;
    const splice = (insert: number[]) => Uint8Array.from([...bytes.subarray(0, cut), ...insert, ...bytes.subarray(cut)]);
    switch (how) {
      case 'unbalanced quote':
        return fc.constant(splice([0x22]));
      case 'NUL':
        return fc.constant(splice([0x00]));
      case 'not UTF-8':
        return fc.constantFrom(splice([0xff]), splice([0xc3]), splice([0xed, 0xa0, 0x80]));
      case 'no header':
        return fc.constant(new TextEncoder().encode(csv.text.slice(csv.text.search(/\r?\n/) + 1)));
      case 'cut off':
        return fc.constant(bytes.subarray(0, cut));
      case 'random bytes':
        return fc.uint8Array({ maxLength: 300 });
      default:
        return fc.constant(new Uint8Array());
    }
  });

/** How the file travels: the content types and multipart shapes clients send, including wrong ones. */
const envelope = fc.constantFrom(
  'text/csv',
  'text/csv; charset=utf-8',
  'application/csv',
  'multipart',
  'multipart, other field',
  'text/plain',
);

function request(body: Uint8Array, how: string): { body: Uint8Array; contentType: string } {
  if (!how.startsWith('multipart')) return { body, contentType: how };
  const boundary = 'fuzz-boundary-7e3c';
  const name = how === 'multipart' ? 'file' : 'upload';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="r.csv"\r\nContent-Type: text/csv\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const encoder = new TextEncoder();
  return {
    body: Uint8Array.from([...encoder.encode(head), ...body, ...encoder.encode(tail)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const DATABASES = {
  sqlite: async () => `file:${join(mkdtempSync(join(tmpdir(), 'mw-fuzz-import-')), 'db.sqlite')}`,
  postgresql: async (t: Test) => {
    const server = await startPostgres();
    t.teardown(() => server.stop());
    return createDatabase(server, 'fuzz_import');
  },
};

for (const [name, database] of Object.entries(DATABASES)) {
  t.test(
    `the CSV import under generated files, on ${name}: a documented answer, never a 5xx, the store moved by what it says`,
    async (t) => {
      const redis = await startRedis();
      t.teardown(() => redis.stop());
      const service = await startApp(t, 'web', {
        REDIS_URL: redis.url,
        DATABASE_URL: await database(t),
        IMPORT_MAX_BYTES: String(MAX_BYTES),
        IMPORT_MAX_ROWS: String(MAX_ROWS),
      });
      const total = async () => ((await (await fetch(`${service.url}/api/recipients?limit=1`)).json()) as { total: number }).total;
      const send = async (body: Uint8Array, contentType: string): Promise<Answer> => {
        const response = await fetch(`${service.url}/api/recipients/import`, {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: new Uint8Array(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      /** The answer is documented, and the store moved by exactly what it reports. */
      const check = async (answer: Answer, before: number) => {
        const after = await total();
        if (answer.status === 200) {
          const { imported, duplicates, invalidCount, invalid } = answer.body as {
            imported: number;
            duplicates: number;
            invalidCount: number;
            invalid: unknown[];
          };
          if (![imported, duplicates, invalidCount].every(Number.isInteger))
            throw new Error(`a 200 without its counts: ${JSON.stringify(answer.body)}`);
          if (!Array.isArray(invalid) || invalid.length > invalidCount)
            throw new Error(`invalid rows listed wrongly: ${JSON.stringify(answer.body)}`);
          if (after !== before + imported) throw new Error(`reported ${imported} imported, the store moved by ${after - before}`);
          return { imported, duplicates, invalidCount };
        }
        if (![400, 413, 415].includes(answer.status)) throw new Error(`answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        if (typeof answer.body.error !== 'string' || answer.body.error === '')
          throw new Error(`a ${answer.status} without its error: ${JSON.stringify(answer.body)}`);
        if (after !== before) throw new Error(`a refused import (${answer.status}) stored ${after - before} rows`);
        return undefined;
      };

      const statuses = new Map<string, number>();
      const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);

      await t.test(
        'well-formed files: every data row is imported, a duplicate or invalid, unless a limit refuses the whole file',
        async () => {
          await fc.assert(
            fc.asyncProperty(wellFormed, fc.constantFrom('text/csv', 'multipart'), async (csv, how) => {
              const before = await total();
              const { body, contentType } = request(new TextEncoder().encode(csv.text), how);
              const answer = await send(body, contentType);
              count(`well formed → ${answer.status}`);
              const counts = await check(answer, before);
              const bytes = new TextEncoder().encode(csv.text).length;
              if (counts === undefined) {
                const limited = csv.rows > MAX_ROWS || bytes > MAX_BYTES;
                if (!limited)
                  throw new Error(`a well-formed file of ${csv.rows} rows and ${bytes} bytes refused: ${JSON.stringify(answer.body)}`);
                return;
              }
              const seen = counts.imported + counts.duplicates + counts.invalidCount;
              if (seen !== csv.rows) throw new Error(`${csv.rows} rows in the file, ${seen} accounted for: ${JSON.stringify(answer.body)}`);
            }),
            { numRuns: RUNS, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
          );
        },
      );

      await t.test('broken files and wrong envelopes: refused with a reason or read in part, never a 5xx', async () => {
        await fc.assert(
          fc.asyncProperty(broken, envelope, async (bytes, how) => {
            const before = await total();
            const { body, contentType } = request(bytes, how);
            const answer = await send(body, contentType);
            count(`${how} → ${answer.status}`);
            await check(answer, before);
            if (how === 'text/plain' && answer.status !== 415) throw new Error(`text/plain answered ${answer.status}, not 415`);
            // Another field's file counts against the size limit too: 413 is right for a large one.
            if (how === 'multipart, other field' && ![400, 413].includes(answer.status))
              throw new Error(`a multipart without "file" answered ${answer.status}`);
          }),
          { numRuns: RUNS, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
        );
      });

      t.comment([...statuses].map(([key, n]) => `${key}: ${n}`).join(', '));
    },
  );
}

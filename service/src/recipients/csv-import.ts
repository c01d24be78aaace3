import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import type { Kysely } from 'kysely';
import type { NewRecipientRow, Tables } from '../db/schema.ts';
import { englishOf, type Problem, problem, ProblemError } from '../problems.ts';
import { checkRecipient, emailKey } from './validation.ts';

export interface ImportLimits {
  maxBytes: number;
  maxRows: number;
}

export interface InvalidRow {
  line: number;
  /** The problems in English, joined. */
  reason: string;
  problems: Problem[];
}

export interface ImportResult {
  imported: number;
  duplicates: number;
  invalid: InvalidRow[];
  /** All invalid rows, also those beyond the reported list's cap. */
  invalidCount: number;
}

/** Why a whole import was refused; nothing of it was stored. */
export class ImportError extends ProblemError {
  declare readonly statusCode: 400 | 413 | 415;
  constructor(statusCode: 400 | 413 | 415, p: Problem) {
    super(statusCode, p);
    this.name = 'ImportError';
  }
}

/** At most this many invalid rows are listed; the count covers them all. */
export const MAX_REPORTED_INVALID = 1000;
const INSERT_BATCH = 500;

/**
 * Imports recipients from a CSV stream. The upload is first spooled to a
 * temporary file (bounded by maxBytes), so the database transaction that
 * stores the rows lasts as long as parsing a local file, not as long as a
 * slow client's upload. Rows are then streamed through the parser and stored
 * in batches inside one transaction: either every valid row lands, or none.
 */
export async function importRecipientsCsv(db: Kysely<Tables>, source: Readable, limits: ImportLimits): Promise<ImportResult> {
  const folder = await mkdtemp(join(tmpdir(), 'mail-worker-import-'));
  try {
    const file = join(folder, 'upload.csv');
    await spool(source, file, limits.maxBytes);
    return await db.transaction().execute((trx) => storeRows(trx, createReadStream(file), limits));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Copies the upload to `file`. Over the limit, the rest of the upload is
 * read and dropped before the 413, up to as much again: answered mid-upload,
 * the connection would be left inside a body, and a keep-alive client or
 * proxy sending its next request down it (Traefik did) would have that
 * request read as the rest of this body, unanswered. Past twice the limit
 * the 413 goes at once and takes the connection with it (app.ts); the rest
 * is still read and dropped, not the stream destroyed: that would reset the
 * connection before the client saw the answer.
 */
async function spool(source: Readable, file: string, maxBytes: number): Promise<void> {
  const out = createWriteStream(file);
  let seen = 0;
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > 2 * maxBytes) {
        source.resume();
        break;
      }
      if (seen <= maxBytes && !out.write(chunk)) await once(out, 'drain');
    }
    if (seen > maxBytes) throw new ImportError(413, problem('import.too_large', { maxBytes }));
    // A multipart file over its own limit (busboy's fileSize) ends early
    // without an error, only marked truncated: storing it would import the
    // first part of the file as if it were the whole.
    if ((source as Readable & { truncated?: boolean }).truncated === true) {
      throw new ImportError(413, problem('import.too_large', { maxBytes }));
    }
  } finally {
    out.end();
    await finished(out);
  }
}

/** Decodes UTF-8 strictly (a byte-order mark is dropped) and refuses binary input. */
function utf8Text(): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const check = (text: string, done: (error: Error | null, text?: string) => void) => {
    if (text.includes('\u0000')) done(new ImportError(400, problem('import.binary')));
    else done(null, text);
  };
  const fail = (done: (error: Error) => void) => done(new ImportError(400, problem('import.not_utf8')));
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, done) {
      try {
        check(decoder.decode(chunk, { stream: true }), done);
      } catch {
        fail(done);
      }
    },
    flush(done) {
      try {
        check(decoder.decode(), done);
      } catch {
        fail(done);
      }
    },
  });
}

interface Columns {
  name: number;
  email: number;
}

function findColumns(header: string[]): Columns {
  const names = header.map((h) => h.trim().toLowerCase());
  const name = names.indexOf('name');
  const email = names.indexOf('email');
  if (name < 0 || email < 0) {
    const missing = [name < 0 ? '"name"' : '', email < 0 ? '"email"' : ''].filter(Boolean).join(' and ');
    const found = header
      .slice(0, 10)
      .map((h) => JSON.stringify(h.slice(0, 40)))
      .join(', ');
    throw new ImportError(400, problem('import.header', { missing, found }));
  }
  return { name, email };
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

async function storeRows(trx: Kysely<Tables>, file: Readable, limits: ImportLimits): Promise<ImportResult> {
  const parser = parse({ info: true, skip_empty_lines: true, relax_column_count: true, record_delimiter: ['\r\n', '\n'] });
  // pipeline() destroys the parser with any stage's error (bad bytes), which
  // ends the loop below with that error; its own rejection is that same error.
  pipeline(file, utf8Text(), parser).catch(() => {});

  const result: ImportResult = { imported: 0, duplicates: 0, invalid: [], invalidCount: 0 };
  const seen = new Set<string>();
  let columns: Columns | undefined;
  let rows = 0;
  let batch: NewRecipientRow[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    const inserted = await trx
      .insertInto('recipients')
      .values(batch)
      .onConflict((oc) => oc.column('email_key').doNothing())
      .returning('id')
      .execute();
    result.imported += inserted.length;
    result.duplicates += batch.length - inserted.length;
    batch = [];
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<ParsedRecord>) {
      if (record.every((field) => field.trim() === '')) continue;
      if (columns === undefined) {
        columns = findColumns(record);
        continue;
      }
      if (++rows > limits.maxRows) throw new ImportError(400, problem('import.too_many_rows', { maxRows: limits.maxRows }));

      const line = info.lines - record.join(',').split('\n').length + 1;
      const checked = checkRecipient({ name: record[columns.name] ?? '', email: record[columns.email] ?? '' });
      if (!checked.ok) {
        result.invalidCount++;
        if (result.invalid.length < MAX_REPORTED_INVALID) {
          result.invalid.push({
            line,
            reason: Object.values(checked.problems).map(englishOf).join('; '),
            problems: Object.values(checked.problems),
          });
        }
        continue;
      }
      const key = emailKey(checked.value.email);
      if (seen.has(key)) {
        result.duplicates++;
        continue;
      }
      seen.add(key);
      batch.push({ ...checked.value, email_key: key, created_at: new Date().toISOString() });
      if (batch.length >= INSERT_BATCH) await flush();
    }
  } catch (error) {
    if (error instanceof ImportError) throw error;
    // Not every parser error code starts with CSV_ (INVALID_OPENING_QUOTE
    // does not): the class says it is the file's fault.
    if (error instanceof CsvError) throw new ImportError(400, problem('import.not_csv', { detail: error.message }));
    throw error;
  }
  if (columns === undefined) throw new ImportError(400, problem('import.empty'));
  await flush();
  return result;
}

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { WebDeps } from '../app.ts';
import { ImportError, importRecipientsCsv, type ImportResult } from '../../recipients/csv-import.ts';
import { MAX_PAGE_SIZE } from '../../recipients/store.ts';
import { checkRecipient } from '../../recipients/validation.ts';

export class BadRequest extends Error {
  readonly statusCode = 400;
}

/** Parses an optional whole-number query parameter within bounds, naming it when bad. */
export function intParam(query: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = query[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || value < min || value > max) {
    throw new BadRequest(`${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** The `:id` route parameter: a positive whole number, else 400. */
export function idParam(params: unknown): number {
  return intParam(params as Record<string, unknown>, 'id', 0, 1, Number.MAX_SAFE_INTEGER);
}

export function listQuery(query: Record<string, unknown>) {
  const q = query.q;
  if (q !== undefined && (typeof q !== 'string' || q.length > 200)) throw new BadRequest('q must be text of at most 200 characters');
  return {
    limit: intParam(query, 'limit', 50, 1, MAX_PAGE_SIZE),
    offset: intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
    ...(q ? { q: q.trim() } : {}),
  };
}

/** The CSV of an import request: a text/csv body, or the multipart field `file`. */
export async function csvUpload(request: FastifyRequest): Promise<Readable> {
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === 'file' && part.fieldname === 'file') return part.file;
      if (part.type === 'file') part.file.resume();
    }
    throw new ImportError(400, 'no file: send the CSV as the multipart field "file"');
  }
  if (!(request.body instanceof Readable)) {
    throw new ImportError(415, 'send the CSV as a text/csv body or as the multipart field "file"');
  }
  return request.body;
}

export function runImport(deps: WebDeps, upload: Readable): Promise<ImportResult> {
  return importRecipientsCsv(deps.db, upload, deps.config.import).then(
    (result) => result,
    (error: unknown) => {
      // @fastify/multipart ends an oversized file with this code instead of an ImportError.
      if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
        throw new ImportError(413, `file is larger than the import limit of ${deps.config.import.maxBytes} bytes`);
      }
      throw error;
    },
  );
}

export const recipientsApi: FastifyPluginAsync<WebDeps> = async (app, deps) => {
  // CSV bodies are streamed to the importer as they arrive, never buffered.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

  app.get('/api/recipients', async (request) => deps.recipients.list(listQuery(request.query as Record<string, unknown>)));

  app.post('/api/recipients', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return reply.status(400).send({ error: 'expected a JSON object with name and email', details: {} });
    }
    const checked = checkRecipient(body as Record<string, unknown>);
    if (!checked.ok) return reply.status(400).send({ error: Object.values(checked.problems).join('; '), details: checked.problems });
    const recipient = await deps.recipients.add(checked.value);
    if (recipient === undefined) {
      return reply
        .status(409)
        .send({ error: `a recipient with email ${checked.value.email} already exists`, details: { email: 'duplicate' } });
    }
    return reply.status(201).send(recipient);
  });

  app.delete('/api/recipients/:id', async (request, reply) => {
    const id = idParam(request.params);
    if (!(await deps.recipients.delete(id))) return reply.status(404).send({ error: `no recipient with id ${id}` });
    return reply.status(204).send();
  });

  app.post('/api/recipients/import', async (request) => runImport(deps, await csvUpload(request)));
};

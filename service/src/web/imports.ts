import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { WebDeps } from './app.ts';
import { problem } from '../problems.ts';
import { ImportError, importRecipientsCsv, type ImportResult } from '../recipients/csv-import.ts';

// A CSV import over HTTP, shared by the JSON API and the dashboard's form.

/** The CSV of an import request: a text/csv body, or the multipart field `file`. */
export async function csvUpload(request: FastifyRequest): Promise<Readable> {
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === 'file' && part.fieldname === 'file') return part.file;
      if (part.type === 'file') part.file.resume();
    }
    throw new ImportError(400, problem('import.no_file'));
  }
  if (!(request.body instanceof Readable)) {
    throw new ImportError(415, problem('import.media_type'));
  }
  return request.body;
}

export function runImport(deps: WebDeps, upload: Readable): Promise<ImportResult> {
  return importRecipientsCsv(deps.db, upload, deps.config.import);
}

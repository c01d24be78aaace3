import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebDeps } from '../app.ts';
import { csvUpload, runImport } from '../imports.ts';
import { checkRecipient } from '../../recipients/validation.ts';
import {
  ErrorBody,
  IdParams,
  ImportResult,
  Recipient,
  RecipientInput,
  RecipientPage,
  RecipientQuery,
  type RecipientQueryValues,
} from '../schemas.ts';

const tags = ['recipients'];

export const recipientsApi: FastifyPluginAsyncTypebox<WebDeps> = async (app, deps) => {
  // CSV bodies are streamed to the importer as they arrive, never buffered.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

  app.get(
    '/api/recipients',
    {
      schema: {
        tags,
        summary: 'A page of recipients, newest first, with the total that matches',
        querystring: RecipientQuery,
        response: { 200: RecipientPage, 400: ErrorBody },
      },
    },
    async (request) => {
      const { q, ...page } = request.query as RecipientQueryValues;
      return deps.recipients.list({ ...page, ...(q?.trim() ? { q: q.trim() } : {}) });
    },
  );

  app.post(
    '/api/recipients',
    {
      schema: {
        tags,
        summary: 'Add a recipient',
        body: RecipientInput,
        response: { 201: Recipient, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      // The schema checks the shape; these are the rules a form and a CSV row obey as well.
      const checked = checkRecipient(request.body);
      if (!checked.ok) return reply.status(400).send({ error: Object.values(checked.problems).join('; '), details: checked.problems });
      const recipient = await deps.recipients.add(checked.value);
      if (recipient === undefined) {
        return reply
          .status(409)
          .send({ error: `a recipient with email ${checked.value.email} already exists`, details: { email: 'duplicate' } });
      }
      return reply.status(201).send(recipient);
    },
  );

  app.delete(
    '/api/recipients/:id',
    {
      schema: {
        tags,
        summary: 'Delete a recipient',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await deps.recipients.delete(id))) return reply.status(404).send({ error: `no recipient with id ${id}` });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/recipients/import',
    {
      schema: {
        tags,
        summary: 'Import recipients from CSV (columns name,email), as text/csv or as the multipart field "file"',
        consumes: ['text/csv', 'multipart/form-data'],
        response: { 200: ImportResult, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
    },
    async (request) => runImport(deps, await csvUpload(request)),
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebDeps } from '../app.ts';
import { fieldProblemsBody } from '../errors.ts';
import { csvUpload, runImport } from '../imports.ts';
import { problem } from '../../problems.ts';
import { checkRecipient } from '../../recipients/validation.ts';
import {
  BODY_ERRORS,
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
        response: { 201: Recipient, ...BODY_ERRORS, 409: ErrorBody },
      },
      // The rules a form and a CSV row obey as well, with their messages,
      // before the schema (which says the same): the body the schema and the
      // handler see is the trimmed one.
      preValidation: async (request, reply) => {
        const body = request.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          return reply.status(400).send({ error: 'expected a JSON object with name and email', details: {} });
        }
        const checked = checkRecipient(body);
        if (!checked.ok) return reply.status(400).send(fieldProblemsBody(checked.problems));
        request.body = checked.value;
      },
    },
    async (request, reply) => {
      const recipient = await deps.recipients.add(request.body);
      if (recipient === undefined) {
        return reply.status(409).send(fieldProblemsBody({ email: problem('recipient.email.duplicate', { email: request.body.email }) }));
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

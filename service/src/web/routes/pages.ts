import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import type { WebDeps } from '../app.ts';
import { isLocale, problemTexts } from '../i18n.ts';
import { csvUpload, runImport } from '../imports.ts';
import { renderPage } from '../render.ts';
import { IdParams, RUNS_SHOWN, type WithDefaults } from '../schemas.ts';
import { runDetail } from './runs-api.ts';
import { systemOrNothing } from './system.ts';
import { ImportError, type ImportResult } from '../../recipients/csv-import.ts';
import { checkRecipient } from '../../recipients/validation.ts';
import { checkRunRequest } from '../../runs/bulk-send.ts';
import { MAX_RELAY_LATENCY_MS } from '../../queue/queues.ts';
import { RunError } from '../../runs/store.ts';
import { type Problem, problem } from '../../problems.ts';

export const RECIPIENTS_PAGE = 20;
const SEND_SIZES = [1000, 5000, 10000];

interface DashboardState {
  status?: number;
  formErrors?: Partial<Record<string, Problem>>;
  form?: { name?: string; email?: string; count?: string; failureRate?: string; relayLatencyMs?: string };
  importResult?: ImportResult;
  error?: Problem;
}

const DashboardQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  q: Type.Optional(Type.String({ default: '' })),
});

// HTML pages: not part of the JSON API's OpenAPI document.
const hide = true;

export const pages: FastifyPluginAsyncTypebox<WebDeps> = async (app, deps) => {
  // preHandler, not onRequest: the token is read from the parsed form body.
  const protect = { preHandler: app.csrfProtection, schema: { hide } };
  const withId = { ...protect, schema: { hide, params: IdParams } };

  /** The dashboard at a page of recipients (the first, after a form was posted). */
  async function dashboard(request: FastifyRequest, reply: FastifyReply, state: DashboardState = {}, view = { page: 1, q: '' }) {
    const { page } = view;
    const q = view.q.trim().slice(0, 200);
    const [recipients, runs, system] = await Promise.all([
      deps.recipients.list({ limit: RECIPIENTS_PAGE, offset: (page - 1) * RECIPIENTS_PAGE, ...(q ? { q } : {}) }),
      deps.runs.list(RUNS_SHOWN),
      systemOrNothing(deps),
    ]);
    return renderPage(
      deps,
      request,
      reply,
      'dashboard',
      {
        recipients,
        runs,
        system,
        faults: deps.faults.state(),
        page,
        pages: Math.max(1, Math.ceil(recipients.total / RECIPIENTS_PAGE)),
        q,
        sizes: SEND_SIZES,
        maxRelayLatencyMs: MAX_RELAY_LATENCY_MS,
        problemTexts: problemTexts(request.locale),
        form: {},
        formErrors: {},
        ...state,
      },
      state.status,
    );
  }

  app.get('/', { schema: { hide, querystring: DashboardQuery } }, (request, reply) =>
    dashboard(request, reply, {}, request.query as WithDefaults<Static<typeof DashboardQuery>, 'page' | 'q'>),
  );

  // The live share of responses per version: watch canary weights move.
  app.get('/versions', { schema: { hide } }, (request, reply) =>
    renderPage(deps, request, reply, 'versions', { pageTitle: request.t('versions') }),
  );

  app.get('/lang/:locale', { schema: { hide, params: Type.Object({ locale: Type.String() }) } }, async (request, reply) => {
    const { locale } = request.params;
    if (isLocale(locale)) reply.setCookie('lang', locale, { path: '/', sameSite: 'lax', maxAge: 365 * 24 * 3600 });
    return reply.redirect('/', 303);
  });

  app.post('/recipients', protect, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const checked = checkRecipient(body);
    const form = { name: String(body.name ?? ''), email: String(body.email ?? '') };
    if (!checked.ok) return dashboard(request, reply, { status: 400, formErrors: checked.problems, form });
    if ((await deps.recipients.add(checked.value)) === undefined) {
      return dashboard(request, reply, {
        status: 409,
        formErrors: { email: problem('recipient.email.duplicate', { email: checked.value.email }) },
        form,
      });
    }
    return reply.redirect('/?notice=added', 303);
  });

  app.post('/recipients/:id/delete', withId, async (request, reply) => {
    const { id } = request.params;
    await deps.recipients.delete(id);
    return reply.redirect('/?notice=deleted', 303);
  });

  // Multipart bodies are read by the handler, so the token travels in the query string.
  app.post('/recipients/import', protect, async (request, reply) => {
    try {
      const importResult = await runImport(deps, await csvUpload(request));
      return dashboard(request, reply, { importResult });
    } catch (error) {
      if (!(error instanceof ImportError)) throw error;
      return dashboard(request, reply, { status: error.statusCode, error: error.problem });
    }
  });

  app.post('/runs', protect, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    try {
      const run = await deps.bulk.start(checkRunRequest(body));
      return reply.redirect(`/runs/${run.id}?notice=started&id=${run.id}`, 303);
    } catch (error) {
      if (!(error instanceof RunError)) throw error;
      const form = {
        count: String(body.count ?? ''),
        failureRate: String(body.failureRate ?? ''),
        relayLatencyMs: String(body.relayLatencyMs ?? ''),
      };
      return dashboard(request, reply, { status: error.statusCode, formErrors: { count: error.problem }, form });
    }
  });

  app.get('/runs/:id', { schema: { hide, params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    const run = await deps.runs.get(id);
    if (run === undefined) return renderPage(deps, request, reply, 'error', { message: request.t('notFound') }, 404);
    const [detail, system] = await Promise.all([runDetail(deps, run), systemOrNothing(deps)]);
    return renderPage(deps, request, reply, 'run', { run: detail, system });
  });

  app.post('/runs/:id/resume', withId, async (request, reply) => {
    const { id } = request.params;
    const run = await deps.runs.get(id);
    if (run === undefined) return renderPage(deps, request, reply, 'error', { message: request.t('notFound') }, 404);
    try {
      await deps.bulk.enqueue(run);
    } catch (error) {
      if (!(error instanceof RunError)) throw error;
      return renderPage(deps, request, reply, 'error', { message: request.t(error.problem.code, error.problem.params) }, error.statusCode);
    }
    return reply.redirect(`/runs/${id}?notice=resumed&id=${id}`, 303);
  });
};

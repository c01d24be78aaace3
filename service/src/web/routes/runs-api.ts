import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebDeps } from '../app.ts';
import {
  BODY_ERRORS,
  ErrorBody,
  FAILURES_SHOWN,
  FlagValues,
  IdParams,
  Run,
  RunDetail,
  RunRequest,
  type RunRequestValues,
  RunStarted,
  RunsQuery,
  type RunsQueryValues,
} from '../schemas.ts';
import { validationErrors } from '../validation.ts';
import { listeningWorkers, type QueueName } from '../../queue/queues.ts';
import type { Run as StoredRun } from '../../runs/store.ts';

/**
 * A run with what its page and GET /api/runs/:id show beside its figures:
 * its first failures, what each worker pod did, and the workers on its queue.
 */
export async function runDetail(deps: WebDeps, run: StoredRun) {
  const [failures, pods, workers] = await Promise.all([
    deps.runs.failures(run.id, FAILURES_SHOWN),
    deps.runs.pods(run.id),
    listeningWorkers(deps.queues[run.queue as QueueName]),
  ]);
  return { ...run, failures, pods, workers };
}

export const runsApi: FastifyPluginAsyncTypebox<WebDeps> = async (app, deps) => {
  const tags = ['runs'];

  async function findRun(id: number) {
    const run = await deps.runs.get(id);
    if (run === undefined) throw Object.assign(new Error(`no send run with id ${id}`), { statusCode: 404 });
    return run;
  }

  app.post(
    '/api/runs',
    {
      schema: {
        tags,
        summary: 'Start a send run: pick recipients, enqueue one job each',
        body: RunRequest,
        response: { 202: RunStarted, ...BODY_ERRORS, 403: ErrorBody, 422: ErrorBody, 507: ErrorBody },
      },
      // A request that cannot be a run is 422 (a body that is not JSON at all stays 400).
      schemaErrorFormatter: validationErrors({ status: 422, missing: 'described' }),
    },
    async (request, reply) => {
      const run = await deps.bulk.start(request.body as RunRequestValues);
      return reply.status(202).send({ id: run.id, total: run.total, queue: run.queue });
    },
  );

  app.get(
    '/api/runs',
    {
      schema: {
        tags,
        summary: 'The newest runs',
        querystring: RunsQuery,
        response: { 200: Type.Object({ items: Type.Array(Run) }), 400: ErrorBody },
      },
    },
    async (request) => ({ items: await deps.runs.list((request.query as RunsQueryValues).limit) }),
  );

  app.get(
    '/api/runs/:id',
    {
      schema: {
        tags,
        summary: `One run with its progress and its first ${FAILURES_SHOWN} final failures`,
        params: IdParams,
        response: { 200: RunDetail, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      return runDetail(deps, await findRun(request.params.id));
    },
  );

  app.post(
    '/api/runs/:id/resume',
    {
      schema: {
        tags,
        summary: 'Finish an interrupted enqueue, adding no job twice',
        params: IdParams,
        response: { 202: Run, 400: ErrorBody, 404: ErrorBody, 507: ErrorBody },
      },
    },
    async (request, reply) => {
      const run = await findRun(request.params.id);
      await deps.bulk.enqueue(run);
      return reply.status(202).send(await findRun(run.id));
    },
  );

  app.get(
    '/api/flags',
    {
      schema: {
        tags: ['flags'],
        summary: 'The feature flags as this pod sees them, and where each comes from',
        response: { 200: FlagValues },
      },
    },
    async () => {
      const { warning, ...flags } = deps.flags.evaluate();
      return { ...flags, ...(warning ? { warning } : {}) };
    },
  );

  // Connection: close makes each poll a new connection, so kube-proxy (which
  // balances connections, not requests) spreads the polls over the pods and
  // the /versions page sees the real canary share.
  app.get(
    '/api/version',
    {
      schema: {
        tags: ['version'],
        summary: 'The version and pod that answered (for watching a canary split)',
        response: { 200: Type.Object({ version: Type.String(), pod: Type.String() }) },
      },
    },
    async (_request, reply) => {
      reply.header('connection', 'close').header('cache-control', 'no-store');
      return { version: deps.config.appVersion, pod: deps.config.podName };
    },
  );
};

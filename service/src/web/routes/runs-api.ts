import type { FastifyPluginAsync } from 'fastify';
import type { WebDeps } from '../app.ts';
import { checkRunRequest } from '../../runs/bulk-send.ts';
import { RunError } from '../../runs/store.ts';
import { idParam, intParam } from './recipients-api.ts';

export const RUNS_PAGE = 20;
export const FAILURES_SHOWN = 500;

export const runsApi: FastifyPluginAsync<WebDeps> = async (app, deps) => {
  async function findRun(params: unknown) {
    const id = idParam(params);
    const run = await deps.runs.get(id);
    if (run === undefined) throw Object.assign(new Error(`no send run with id ${id}`), { statusCode: 404 });
    return run;
  }

  app.post('/api/runs', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new RunError(422, 'expected a JSON object with count and failureRate');
    }
    const run = await deps.bulk.start(checkRunRequest(body as Record<string, unknown>));
    return reply.status(202).send({ id: run.id, total: run.total, queue: run.queue });
  });

  app.get('/api/runs', async (request) => {
    const limit = intParam(request.query as Record<string, unknown>, 'limit', RUNS_PAGE, 1, 200);
    return { items: await deps.runs.list(limit) };
  });

  app.get('/api/runs/:id', async (request) => {
    const run = await findRun(request.params);
    return { ...run, failures: await deps.runs.failures(run.id, FAILURES_SHOWN) };
  });

  app.post('/api/runs/:id/resume', async (request, reply) => {
    const run = await findRun(request.params);
    await deps.bulk.enqueue(run);
    return reply.status(202).send(await deps.runs.get(run.id));
  });

  app.get('/api/flags', async () => {
    const { warning, ...flags } = deps.flags.evaluate();
    return { ...flags, ...(warning ? { warning } : {}) };
  });

  // Connection: close makes each poll a new connection, so kube-proxy (which
  // balances connections, not requests) spreads the polls over the pods and
  // the /versions page sees the real canary share.
  app.get('/api/version', async (_request, reply) => {
    reply.header('connection', 'close').header('cache-control', 'no-store');
    return { version: deps.config.appVersion, pod: deps.config.podName };
  });
};

import type { FastifyInstance } from 'fastify';
import { baseApp, type WebDeps } from './app.ts';
import { faults } from './faults.ts';
import { httpMetrics } from './http-metrics.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { healthRoutes } from './routes/health.ts';
import { queuesBoard } from './routes/queues-board.ts';
import { site } from './site.ts';

/** Requests the live panel leaves out: probes, scrapes and its own polls are not a pod's traffic. */
const NOT_TRAFFIC = new Set(['/healthz', '/readyz', '/metrics', '/system', '/api/system']);

// Kept apart from app.ts so a worker process, which serves only probes and
// metrics, never loads the dashboard's plugins, templates and bull-board.

/** The whole web app: dashboard, JSON API, bull-board, health and metrics. */
export function buildWebApp(deps: WebDeps): FastifyInstance {
  const app = baseApp(deps.logger);
  // Every answer names who gave it, an injected 500 too: /versions counts
  // each version's errors by it, and `curl -i` shows which pod answered.
  const { appVersion, podName } = deps.config;
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-mail-worker-version', appVersion).header('x-mail-worker-pod', podName);
  });
  // A scale-out shows on the live panel as new pods taking requests.
  app.addHook('onResponse', async (request, reply) => {
    if (NOT_TRAFFIC.has(request.routeOptions.url ?? '')) return;
    deps.traffic.count('answered');
    if (reply.statusCode >= 500) deps.traffic.count('errors');
  });
  app.register(methodNotAllowed);
  app.register(httpMetrics, { metrics: deps.metrics });
  app.register(healthRoutes, { metrics: deps.metrics, readiness: deps.readiness });
  app.register(async (scope) => {
    scope.register(faults, { faults: deps.faults });
    scope.register(site, deps);
  });
  app.register(queuesBoard, { prefix: '/queues', queues: deps.queues, admin: deps.config.admin });
  return app;
}

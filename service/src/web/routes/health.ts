import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../metrics.ts';

/** Named dependency checks; each resolves to true when the dependency answers. */
export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export const healthRoutes: FastifyPluginAsync<{ metrics: Metrics; readiness: ReadinessCheck }> = async (app, { metrics, readiness }) => {
  // Liveness: the process answers. Deliberately no dependency checks, so a
  // Redis outage does not make Kubernetes restart every pod at once.
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks = await readiness();
    const ready = Object.values(checks).every(Boolean);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
};

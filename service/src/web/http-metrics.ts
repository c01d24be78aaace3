import fp from 'fastify-plugin';
import type { Metrics } from '../metrics.ts';

/**
 * Counts and times every request by its route template (`/api/runs/:id`, not
 * `/api/runs/42`), so label cardinality stays bounded; unmatched URLs share
 * one label.
 */
export const httpMetrics = fp<{ metrics: Metrics }>(
  async (app, { metrics }) => {
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    });
  },
  { name: 'http-metrics' },
);

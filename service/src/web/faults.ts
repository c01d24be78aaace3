import fp from 'fastify-plugin';
import type { Config } from '../config.ts';

/**
 * Deliberate misbehaviour for the rollout scenarios: a share of requests
 * answers 500, or every request is slowed, so a canary analysis visibly fails.
 * It covers the pages and API only, never the probes, so Kubernetes keeps the
 * pods running while the analysis judges them.
 */
export const faults = fp<Config['faults']>(
  async (app, { errorRate, delayMs }) => {
    if (errorRate <= 0 && delayMs <= 0) return;
    app.log.warn({ errorRate, delayMs }, 'fault injection is on');
    app.addHook('onRequest', async (_request, reply) => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (errorRate > 0 && Math.random() < errorRate) {
        return reply.status(500).send({ error: 'injected fault (FAULT_ERROR_RATE)' });
      }
    });
  },
  { name: 'faults' },
);

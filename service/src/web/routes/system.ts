import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebDeps } from '../app.ts';
import { SystemSnapshot } from '../schemas.ts';

/** The live panel: its figures as JSON, and as the HTML fragment app.js swaps in. */
export const systemRoutes: FastifyPluginAsyncTypebox<WebDeps> = async (app, deps) => {
  app.get(
    '/api/system',
    {
      schema: {
        tags: ['system'],
        summary: 'Queues, live workers, web pods and mails per second over the last five minutes',
        response: { 200: SystemSnapshot },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return deps.monitor.snapshot();
    },
  );

  app.get('/system', { schema: { hide: true } }, async (request, reply) =>
    reply
      .header('cache-control', 'no-store')
      .viewAsync('system', { t: request.t, locale: request.locale, system: await systemOrNothing(deps) }),
  );
};

/** The snapshot, or undefined while Redis does not answer: a page still renders, saying so. */
export function systemOrNothing(deps: WebDeps) {
  return deps.monitor.snapshot().catch((error: unknown) => {
    deps.logger.warn({ err: error }, 'the live panel could not read Redis');
    return undefined;
  });
}

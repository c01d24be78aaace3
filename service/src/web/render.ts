import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebDeps } from './app.ts';

// What every HTML page gets, in one place for the route modules that render pages.

const NOTICES = ['added', 'deleted', 'started', 'resumed', 'cleared', 'faults'] as const;
const isNotice = (value: unknown): value is (typeof NOTICES)[number] => (NOTICES as readonly unknown[]).includes(value);

/** Renders a page with what every page needs: translations, version, pod, links and a CSRF token. */
export function renderPage(deps: WebDeps, request: FastifyRequest, reply: FastifyReply, template: string, data: object, status = 200) {
  const flags = deps.flags.evaluate();
  const query = request.query as Record<string, unknown>;
  const notice = isNotice(query.notice) ? query.notice : undefined;
  return reply.status(status).viewAsync(template, {
    t: request.t,
    locale: request.locale,
    version: deps.config.appVersion,
    pod: deps.config.podName,
    csrf: reply.generateCsrf(),
    flags,
    links: {
      queues: '/queues',
      mail: deps.catcher !== undefined ? '/mail' : deps.config.mailCatcherUrl,
      unleash: deps.config.unleashUiUrl,
    },
    notice: notice && request.t(`notice.${notice}`, { id: String(query.id ?? '') }),
    ...data,
  });
}

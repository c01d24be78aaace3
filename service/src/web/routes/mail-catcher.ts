import type { FastifyPluginAsync } from 'fastify';
import type { WebDeps } from '../app.ts';
import type { MailCatcher } from '../../mail/catcher.ts';
import { renderPage } from './pages.ts';
import { idParam } from './recipients-api.ts';

/** The embedded mail catcher's pages: list, one mail, clear. */
export const mailCatcherPages: FastifyPluginAsync<WebDeps & { catcher: MailCatcher }> = async (app, deps) => {
  const { catcher } = deps;
  app.get('/api/mail', async () => ({ received: catcher.received, items: catcher.list(100) }));

  app.get('/mail', async (request, reply) =>
    renderPage(deps, request, reply, 'mail-list', { mails: catcher.list(100), received: catcher.received }),
  );

  app.get('/mail/:id', async (request, reply) => {
    const id = idParam(request.params);
    const mail = catcher.get(id);
    if (mail === undefined) return renderPage(deps, request, reply, 'error', { message: request.t('notFound') }, 404);
    return renderPage(deps, request, reply, 'mail', { mail });
  });

  // The mail's own HTML, isolated: served with a CSP that forbids scripts, shown in a sandboxed iframe.
  app.get('/mail/:id/html', async (request, reply) => {
    const id = idParam(request.params);
    const mail = catcher.get(id);
    if (mail?.html === undefined) return reply.status(404).send({ error: `no HTML body for caught mail ${id}` });
    return reply
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
      .type('text/html; charset=utf-8')
      .send(mail.html);
  });

  app.post('/mail/clear', { preHandler: app.csrfProtection }, async (_request, reply) => {
    catcher.clear();
    return reply.redirect('/mail?notice=cleared', 303);
  });
};

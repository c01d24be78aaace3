import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebDeps } from '../app.ts';
import { renderPage } from '../render.ts';
import { IdParams } from '../schemas.ts';
import type { MailCatcher } from '../../mail/catcher.ts';

/** The embedded mail catcher's pages: list, one mail, clear. */
export const mailCatcherPages: FastifyPluginAsyncTypebox<WebDeps & { catcher: MailCatcher }> = async (app, deps) => {
  const { catcher } = deps;
  const page = { schema: { hide: true, params: IdParams } };
  app.get(
    '/api/mail',
    {
      schema: {
        tags: ['mail catcher'],
        summary: 'The newest mails the embedded catcher received (only when it runs: EMBEDDED_MAIL_CATCHER)',
        response: {
          200: Type.Object({
            received: Type.Integer(),
            items: Type.Array(Type.Object({}, { additionalProperties: true })),
          }),
        },
      },
    },
    async () => ({ received: catcher.received, items: catcher.list(100) }),
  );

  app.get('/mail', { schema: { hide: true } }, async (request, reply) =>
    renderPage(deps, request, reply, 'mail-list', { mails: catcher.list(100), received: catcher.received }),
  );

  app.get('/mail/:id', page, async (request, reply) => {
    const { id } = request.params;
    const mail = catcher.get(id);
    if (mail === undefined) return renderPage(deps, request, reply, 'error', { message: request.t('notFound') }, 404);
    return renderPage(deps, request, reply, 'mail', { mail });
  });

  // The mail's own HTML, isolated: served with a CSP that forbids scripts, shown in a sandboxed iframe.
  app.get('/mail/:id/html', page, async (request, reply) => {
    const { id } = request.params;
    const mail = catcher.get(id);
    if (mail?.html === undefined) return reply.status(404).send({ error: `no HTML body for caught mail ${id}` });
    return reply
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
      .type('text/html; charset=utf-8')
      .send(mail.html);
  });

  app.post('/mail/clear', { preHandler: app.csrfProtection, schema: { hide: true } }, async (_request, reply) => {
    catcher.clear();
    return reply.redirect('/mail?notice=cleared', 303);
  });
};

import { fileURLToPath } from 'node:url';
import accepts from '@fastify/accepts';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import view from '@fastify/view';
import { Eta } from 'eta';
import helmet from 'helmet';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { WebDeps } from './app.ts';
import { type Locale, LOCALES, pickLocale, type Translate, translator } from './i18n.ts';
import { recipientsApi } from './routes/recipients-api.ts';
import { runsApi } from './routes/runs-api.ts';
import { pages } from './routes/pages.ts';
import { systemRoutes } from './routes/system.ts';
import { podFaults } from './routes/pod-faults.ts';
import { mailCatcherPages } from './routes/mail-catcher.ts';
import { openApi } from './openapi.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// Resolved from this file, so the same paths work from service/src and service/dist.
const VIEWS = here('../../views');
const PUBLIC = here('../../public');

declare module 'fastify' {
  interface FastifyRequest {
    locale: Locale;
    t: Translate;
  }
}

/**
 * Refuses state-changing requests that a browser sent from another site
 * (Fetch Metadata, with Origin as the fallback for older browsers). This
 * covers the JSON API, which tools like curl call without a CSRF token;
 * the HTML forms carry a token as well.
 */
async function sameOriginOnly(request: FastifyRequest, reply: FastifyReply) {
  if (['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return;
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  // Browsers that send Fetch Metadata are judged by it alone; others by Origin.
  const crossSite =
    site !== undefined
      ? site === 'cross-site' || site === 'same-site'
      : origin !== undefined && (origin === 'null' || new URL(origin).host !== request.host);
  if (crossSite) {
    return reply.status(403).send({ error: 'cross-site request refused' });
  }
}

/** The learner-facing part: dashboard pages, the JSON API and the embedded mail catcher. */
export const site: FastifyPluginAsync<WebDeps> = async (app, deps) => {
  // helmet's middleware, built once: @fastify/helmet builds it anew for every
  // request, which cost a few percent of each dashboard request.
  const securityHeaders = helmet({
    // same-origin rather than no-referrer: with no-referrer, browsers send
    // `Origin: null` on form posts, which no origin check can tell apart.
    referrerPolicy: { policy: 'same-origin' },
    contentSecurityPolicy: {
      directives: {
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'style-src-attr': ["'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'form-action': ["'self'"],
        // helmet's default would make a browser fetch the stylesheet and
        // scripts over https whatever the page came by: over plain http on
        // any host but localhost (a node's IP, a kind Ingress on nip.io) the
        // pages lost their style and scripts. TLS is the Ingress's to add.
        'upgrade-insecure-requests': null,
      },
    },
  });
  app.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (error) => done(error as Error | undefined)));
  await app.register(accepts);
  await app.register(cookie);
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true, signed: false },
    getToken: (request) => {
      const body = request.body as Record<string, unknown> | undefined;
      const query = request.query as Record<string, unknown>;
      const token = body?._csrf ?? query._csrf ?? request.headers['x-csrf-token'];
      return typeof token === 'string' ? token : undefined;
    },
  });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(multipart, { limits: { fileSize: deps.config.import.maxBytes, files: 1, fields: 5 } });
  // production: compiled templates are cached (otherwise every request reads and compiles them again).
  await app.register(view, { engine: { eta: new Eta({ views: VIEWS, cache: true }) }, templates: VIEWS, production: true });
  await app.register(fastifyStatic, { root: PUBLIC, prefix: '/assets/', maxAge: '1h' });

  app.decorateRequest('locale', 'en');
  app.decorateRequest('t', null as unknown as Translate);
  app.addHook('onRequest', async (request) => {
    request.locale = pickLocale(request.cookies.lang, request.language([...LOCALES]));
    request.t = translator(request.locale);
  });
  app.addHook('onRequest', sameOriginOnly);

  await app.register(openApi, { version: deps.config.appVersion });
  await app.register(recipientsApi, deps);
  await app.register(runsApi, deps);
  await app.register(systemRoutes, deps);
  await app.register(podFaults, deps);
  await app.register(pages, deps);
  if (deps.catcher !== undefined) await app.register(mailCatcherPages, { ...deps, catcher: deps.catcher });
};

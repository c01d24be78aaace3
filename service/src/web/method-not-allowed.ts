import FindMyWay from 'find-my-way';
import fp from 'fastify-plugin';

// Fastify answers 404 to a method a path does not have; HTTP says 405 with
// an Allow header naming the methods it does have, and API clients and
// fuzzers rely on it. The routes are mirrored into a router of the same
// kind as Fastify's (find-my-way), which can look a concrete path up.

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const methodNotAllowed = fp(async (app) => {
  const routes = FindMyWay();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if ((METHODS as readonly string[]).includes(method) && !routes.hasRoute(method as 'GET', route.url)) {
        routes.on(method as 'GET', route.url, () => undefined);
      }
    }
  });
  // onRequest, not a not-found handler: it runs before the body is read, so
  // a method Fastify would refuse for a missing Content-Type gets its 405 too.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = request.url.split('?')[0] as string;
    const allowed = METHODS.filter((method) => routes.find(method, path) !== null);
    if (allowed.length === 0) return; // no such path: Fastify's 404
    return reply
      .status(405)
      .header('allow', allowed.join(', '))
      .send({ error: `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}` });
  });
});

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

// The JSON API described as OpenAPI 3.1, generated from the routes' schemas:
// the document at /openapi.json, a page to read and try it at /api/docs.
// Registered before the routes of its scope, so it sees each of them; the
// HTML pages mark themselves hidden.

export const openApi = fp<{ version: string }>(async (app, { version }) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'mail-worker',
        version,
        description:
          'Test recipients, CSV import and bulk test-mail runs through Redis-backed queues. Errors answer { error, details? } with the field named.',
      },
      tags: [
        { name: 'recipients', description: 'Who the test mails go to' },
        { name: 'runs', description: 'Send runs and their progress' },
        { name: 'flags', description: 'Feature flags' },
        { name: 'version', description: 'Which version and pod answered' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: false });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
});

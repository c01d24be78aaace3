import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { Queues } from '../../queue/queues.ts';

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** True when the Authorization header carries the admin's credentials. */
export function isAdmin(header: string | undefined, admin: NonNullable<Config['admin']>): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && same(decoded.slice(0, colon), admin.user) && same(decoded.slice(colon + 1), admin.password);
}

/** bull-board for both queues (the Sidekiq Web of BullMQ), behind basic auth when an admin is configured. */
export const queuesBoard: FastifyPluginAsync<{ prefix: string; queues: Queues; admin: Config['admin'] }> = async (app, options) => {
  const { admin } = options;
  if (admin !== undefined) {
    app.addHook('onRequest', async (request, reply) => {
      if (isAdmin(request.headers.authorization, admin)) return;
      return reply
        .header('www-authenticate', 'Basic realm="mail-worker admin", charset="UTF-8"')
        .status(401)
        .send({ error: 'authentication required' });
    });
  }
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(options.prefix);
  createBullBoard({
    queues: Object.values(options.queues).map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'mail-worker queues' } },
  });
  await app.register(serverAdapter.registerPlugin());
};

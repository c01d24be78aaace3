import { timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { Queues } from '../../queue/queues.ts';

/** Equal, compared in constant time. */
function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** bull-board for both queues (the Sidekiq Web of BullMQ), behind basic auth when an admin is configured. */
export const queuesBoard: FastifyPluginAsync<{ prefix: string; queues: Queues; admin: Config['admin'] }> = async (app, options) => {
  const { admin } = options;
  if (admin !== undefined) {
    await app.register(basicAuth, {
      authenticate: { realm: 'mail-worker admin' },
      // Both compared in constant time, so a response's timing tells nothing.
      validate: async (user, password) => {
        const userMatches = same(user, admin.user);
        if (!(same(password, admin.password) && userMatches)) throw new Error('wrong user or password');
      },
    });
    app.addHook('onRequest', app.basicAuth);
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

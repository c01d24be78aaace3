import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { Queues } from '../../queue/queues.ts';
import { requireAdmin } from '../admin.ts';

/** bull-board for both queues (the Sidekiq Web of BullMQ), behind basic auth when an admin is configured. */
export const queuesBoard: FastifyPluginAsync<{ prefix: string; queues: Queues; admin: Config['admin'] }> = async (app, options) => {
  await requireAdmin(app, options.admin);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(options.prefix);
  createBullBoard({
    queues: Object.values(options.queues).map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'mail-worker queues' } },
  });
  await app.register(serverAdapter.registerPlugin());
};

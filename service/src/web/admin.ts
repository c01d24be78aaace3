import { timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';

/** Equal, compared in constant time. */
function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Puts the routes of the scope `app` behind basic auth when an admin is
 * configured (ADMIN_USER, ADMIN_PASSWORD); without one they stay open, as
 * on a laptop.
 */
export async function requireAdmin(app: FastifyInstance, admin: Config['admin']): Promise<void> {
  if (admin === undefined) return;
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

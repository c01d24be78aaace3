import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebDeps } from '../app.ts';
import { requireAdmin } from '../admin.ts';
import { type FaultState, MAX_DELAY_MS, MAX_UNREADY_SECONDS } from '../faults.ts';
import { renderPage } from '../render.ts';
import { BODY_ERRORS, ErrorBody, FaultAnswer, FaultChange } from '../schemas.ts';

/**
 * The dashboard's form, read as the JSON API's body: a field left empty
 * changes nothing. Null when a field is out of its bounds.
 */
function formChange(body: Record<string, unknown>): Partial<FaultState> | null {
  const change: Partial<FaultState> = {};
  const fields: Array<[keyof FaultState, number, boolean]> = [
    ['errorRate', 1, false],
    ['delayMs', MAX_DELAY_MS, true],
    ['unreadySeconds', MAX_UNREADY_SECONDS, true],
  ];
  for (const [name, max, whole] of fields) {
    const text = String(body[name] ?? '').trim();
    if (text === '') continue;
    const value = Number(text);
    if (!(value >= 0 && value <= max) || (whole && !Number.isInteger(value))) return null;
    change[name] = value;
  }
  return change;
}

/**
 * Faults this pod can be given while it runs (podinfo's idea): unready for
 * a while, a share of answers 500, every answer late. Behind the admin
 * credentials; never failed or slowed themselves, so a pod told to fail
 * everything can still be told to stop.
 */
export const podFaults: FastifyPluginAsyncTypebox<WebDeps> = async (app, deps) => {
  await requireAdmin(app, deps.config.admin);
  const config = { faultFree: true };
  const tags = ['faults'];
  const answer = (state: FaultState) => ({ pod: deps.config.podName, version: deps.config.appVersion, ...state });
  const changed = (state: FaultState) => {
    app.log.warn(state, 'this pod’s faults were changed at runtime');
    return answer(state);
  };

  app.get(
    '/api/faults',
    { config, schema: { tags, summary: "This pod's faults now", response: { 200: FaultAnswer, 401: ErrorBody } } },
    async () => answer(deps.faults.state()),
  );
  app.put(
    '/api/faults',
    {
      config,
      schema: {
        tags,
        summary: "Change this pod's faults until it restarts: unready for a while, a share of 500s, a delay",
        body: FaultChange,
        response: { 200: FaultAnswer, 401: ErrorBody, ...BODY_ERRORS },
      },
    },
    async (request) => changed(deps.faults.set(request.body)),
  );
  app.delete(
    '/api/faults',
    {
      config,
      schema: { tags, summary: 'Back to the faults this pod was deployed with (FAULT_*)', response: { 200: FaultAnswer, 401: ErrorBody } },
    },
    async () => changed(deps.faults.clear()),
  );

  app.post('/faults', { config, preHandler: app.csrfProtection, schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const change = body.clear !== undefined ? undefined : formChange(body);
    if (change === null) return renderPage(deps, request, reply, 'error', { message: request.t('faultsInvalid') }, 400);
    changed(change === undefined ? deps.faults.clear() : deps.faults.set(change));
    return reply.redirect(`/?notice=faults&id=${encodeURIComponent(deps.config.podName)}#faults-heading`, 303);
  });
};

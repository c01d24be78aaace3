import { FLAG_BULK_SEND, FLAG_SEND_STRATEGY } from './flags.ts';

export interface SetupOptions {
  /** The Unleash API base, e.g. http://localhost:4242/api */
  url: string;
  /** An admin token (or personal access token). */
  adminToken: string;
  environment: string;
  project?: string;
  log?: (line: string) => void;
}

export type SetupResult = Record<string, 'created' | 'exists'>;

/** The flags this service reads, as a learner's fresh Unleash should have them. */
const FLAGS = [
  {
    name: FLAG_BULK_SEND,
    description: 'Gate for new bulk send runs: off means POST /api/runs answers 403 and the send buttons are disabled.',
    variants: undefined,
  },
  {
    name: FLAG_SEND_STRATEGY,
    description:
      'Which queue new send runs use: variant "default" (mail-default) or "priority" (mail-priority). Move the weights to split runs.',
    variants: [
      { name: 'default', weight: 1000, weightType: 'variable', stickiness: 'default' },
      { name: 'priority', weight: 0, weightType: 'fix', stickiness: 'default' },
    ],
  },
];

class UnleashAdminError extends Error {}

/**
 * Creates both flags through the Admin API, switched on in `environment`
 * with a 100% rollout (and the send_strategy variants). Idempotent: a flag
 * that exists is left exactly as it is, so a learner's changes survive
 * running this again.
 */
export async function setupUnleashFlags(options: SetupOptions): Promise<SetupResult> {
  const base = `${options.url.replace(/\/+$/, '')}/admin/projects/${encodeURIComponent(options.project ?? 'default')}/features`;
  const log = options.log ?? (() => {});
  const call = async (method: string, path: string, body?: unknown) => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: options.adminToken, 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new UnleashAdminError(`cannot reach Unleash at ${options.url}: ${(error as Error).message}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new UnleashAdminError(`Unleash refused the admin token (${response.status}): UNLEASH_ADMIN_TOKEN must be an admin API token`);
    }
    return response;
  };
  const expect = async (response: Response, what: string) => {
    if (!response.ok) throw new UnleashAdminError(`${what} failed: ${response.status} ${(await response.text()).slice(0, 300)}`);
  };

  const result: SetupResult = {};
  for (const flag of FLAGS) {
    const existing = await call('GET', `/${flag.name}`);
    if (existing.ok) {
      log(`${flag.name}: exists, left as it is`);
      result[flag.name] = 'exists';
      continue;
    }
    if (existing.status !== 404) await expect(existing, `looking up ${flag.name}`);
    await expect(await call('POST', '', { name: flag.name, type: 'release', description: flag.description }), `creating ${flag.name}`);
    const environment = `/${flag.name}/environments/${encodeURIComponent(options.environment)}`;
    await expect(
      await call('POST', `${environment}/strategies`, {
        name: 'flexibleRollout',
        parameters: { rollout: '100', stickiness: 'default', groupId: flag.name },
        ...(flag.variants ? { variants: flag.variants } : {}),
      }),
      `adding the rollout strategy of ${flag.name}`,
    );
    await expect(await call('POST', `${environment}/on`), `switching ${flag.name} on in ${options.environment}`);
    log(`${flag.name}: created and switched on in ${options.environment}`);
    result[flag.name] = 'created';
  }
  return result;
}

export { UnleashAdminError };

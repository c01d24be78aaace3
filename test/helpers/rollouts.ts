import { describeNamespace, getJson, kubectl, waitFor } from './cluster.ts';

// The chart's web Rollout (release `mail-worker`, so `mail-worker-web`) as
// the tests read and drive it: what `kubectl argo rollouts` shows and does,
// without the plugin.

export const WEB = 'mail-worker-web';
export const HASH = 'rollouts-pod-template-hash';

export interface Rollout {
  status?: {
    phase?: string;
    message?: string;
    currentStepIndex?: number;
    stableRS?: string;
    currentPodHash?: string;
    abort?: boolean;
    pauseConditions?: { reason: string }[] | null;
    blueGreen?: { activeSelector?: string; previewSelector?: string };
  };
}

export const rollout = (ns: string) => getJson<Rollout>(['rollout', WEB, '-n', ns]);

/** Until the Rollout passes CHECK; a time-out shows its status and the namespace's pods. */
export function untilRollout(ns: string, what: string, check: (r: Rollout) => boolean, timeoutMs = 120_000): Promise<Rollout> {
  return waitFor(
    what,
    async () => {
      const r = await rollout(ns);
      return check(r) ? r : undefined;
    },
    timeoutMs,
    async () => `Rollout status: ${JSON.stringify((await rollout(ns)).status)}\n${await describeNamespace(ns)}`,
  );
}

export const healthy = (r: Rollout) => r.status?.phase === 'Healthy';

/** What `kubectl argo rollouts promote` does: clear the pause. */
export const promote = (ns: string) =>
  kubectl(['patch', 'rollout', WEB, '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"pauseConditions":null}}']);
/** What `kubectl argo rollouts abort` does. */
export const abort = (ns: string) =>
  kubectl(['patch', 'rollout', WEB, '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"abort":true}}']);

import fp from 'fastify-plugin';
import type { Config } from '../config.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is never slowed or failed by the faults: the controls that clear them. */
    faultFree?: boolean;
  }
}

/** The longest a pod can be made unready or slow at runtime: ten minutes, one minute. */
export const MAX_UNREADY_SECONDS = 600;
export const MAX_DELAY_MS = 60_000;

export interface FaultState {
  /** A share of the pages' and API's requests answered 500. */
  errorRate: number;
  /** Added to every page and API request. */
  delayMs: number;
  /** Seconds until /readyz answers 200 again; 0 while the pod is ready. */
  unreadySeconds: number;
}

/**
 * This pod's deliberate misbehaviour. It starts from FAULT_ERROR_RATE and
 * FAULT_DELAY_MS (the chart's `faults.*`: a bad version, for the rollout
 * guides), and the admin API changes it at runtime for this pod alone
 * until the pod restarts or the change is cleared: unready for a while,
 * failing, slow. The probes and metrics are never slowed or failed, so
 * Kubernetes keeps the pod running while it misbehaves.
 */
export class PodFaults {
  readonly #deployed: Config['faults'];
  #errorRate: number;
  #delayMs: number;
  #unreadyUntil = 0;

  constructor(deployed: Config['faults']) {
    this.#deployed = deployed;
    this.#errorRate = deployed.errorRate;
    this.#delayMs = deployed.delayMs;
  }

  get errorRate(): number {
    return this.#errorRate;
  }

  get delayMs(): number {
    return this.#delayMs;
  }

  get ready(): boolean {
    return Date.now() >= this.#unreadyUntil;
  }

  state(): FaultState {
    return {
      errorRate: this.#errorRate,
      delayMs: this.#delayMs,
      unreadySeconds: Math.max(0, Math.ceil((this.#unreadyUntil - Date.now()) / 1000)),
    };
  }

  /** Changes what is given; what is left out stays. */
  set(change: Partial<FaultState>): FaultState {
    if (change.errorRate !== undefined) this.#errorRate = change.errorRate;
    if (change.delayMs !== undefined) this.#delayMs = change.delayMs;
    if (change.unreadySeconds !== undefined) this.#unreadyUntil = Date.now() + change.unreadySeconds * 1000;
    return this.state();
  }

  /** Back to what the pod was deployed with. */
  clear(): FaultState {
    this.#errorRate = this.#deployed.errorRate;
    this.#delayMs = this.#deployed.delayMs;
    this.#unreadyUntil = 0;
    return this.state();
  }
}

/** Slows and fails the requests of the scope it is registered in, as the pod's faults say now. */
export const faults = fp<{ faults: PodFaults }>(
  async (app, { faults: pod }) => {
    if (pod.errorRate > 0 || pod.delayMs > 0) app.log.warn(pod.state(), 'fault injection is on');
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.faultFree) return;
      if (pod.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, pod.delayMs));
      if (pod.errorRate > 0 && Math.random() < pod.errorRate) {
        return reply.status(500).send({ error: 'injected fault (FAULT_ERROR_RATE, or PUT /api/faults)' });
      }
    });
  },
  { name: 'faults' },
);

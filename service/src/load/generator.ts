import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Counter, type Registry } from 'prom-client';

// The chart's load generator (`loadGenerator.*`, `mail-worker load`): steady
// requests to the web's Service, and bulk runs at an interval, from inside
// the cluster, in place of a learner's terminal running scripts/load.sh.

export interface LoadSettings {
  /** The web's base URL: its Service, e.g. http://mail-worker-web:3000. */
  targetUrl: string;
  requestsPerSecond: number;
  /** Asked in turn. */
  paths: string[];
  /** Mails per bulk run (POST /api/runs); 0 for none. */
  runCount: number;
  runEverySeconds: number;
  /** How often a line of counts is logged. */
  reportSeconds: number;
}

/** No request waits longer, so a hung web cannot pile requests up. */
const TIMEOUT_MS = 10_000;

/**
 * Requests at a steady rate that never stop on an error: a 5xx, a refused
 * connection or a timeout is counted by what it was and the next request
 * goes out on time. Each request opens its own connection (no keep-alive),
 * so kube-proxy, which balances connections, spreads them over the
 * Service's pods the way a canary's weights say. Bounded: at most one
 * second's requests in flight; beyond that a request is skipped and counted.
 */
export class LoadGenerator {
  readonly #settings: LoadSettings;
  readonly #log: (line: string) => void;
  readonly #requests: Counter<'path' | 'status'>;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #maxInFlight: number;
  #inFlight = 0;
  #next = 0;
  #window = new Map<string, number>();
  #started = Date.now();

  constructor(settings: LoadSettings, registry: Registry, log: (line: string) => void) {
    this.#settings = settings;
    this.#log = log;
    this.#maxInFlight = Math.max(10, Math.ceil(settings.requestsPerSecond));
    this.#requests = new Counter({
      name: 'load_requests_total',
      help: "The load generator's requests by path and what answered: an HTTP status, error (no answer) or skipped (too many in flight).",
      labelNames: ['path', 'status'],
      registers: [registry],
    });
  }

  start(): void {
    const { requestsPerSecond, runCount, runEverySeconds, reportSeconds, targetUrl, paths } = this.#settings;
    this.#log(
      `load: ${requestsPerSecond} requests a second to ${targetUrl} (${paths.join(', ')})` +
        (runCount > 0 ? `, a run of ${runCount} mails every ${runEverySeconds} s` : ''),
    );
    this.#started = Date.now();
    if (requestsPerSecond > 0 && paths.length > 0) this.#timers.push(setInterval(() => this.#ask(), 1000 / requestsPerSecond));
    if (runCount > 0) {
      this.#sendRun();
      this.#timers.push(setInterval(() => this.#sendRun(), runEverySeconds * 1000));
    }
    this.#timers.push(setInterval(() => this.#report(), reportSeconds * 1000));
  }

  /** Stops asking; waits for the requests in flight (at most their timeout). */
  async close(): Promise<void> {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    const deadline = Date.now() + TIMEOUT_MS;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  #count(path: string, status: string): void {
    this.#requests.inc({ path, status });
    this.#window.set(status, (this.#window.get(status) ?? 0) + 1);
  }

  /** A line like scripts/load.sh's: `30s: 200×95, 500×5`. */
  #report(): void {
    const counts = [...this.#window].sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => `${status}×${n}`);
    this.#window = new Map();
    this.#log(`${Math.round((Date.now() - this.#started) / 1000)}s: ${counts.length > 0 ? counts.join(', ') : 'no answer yet'}`);
  }

  #ask(): void {
    const path = this.#settings.paths[this.#next++ % this.#settings.paths.length] as string;
    this.#send('GET', path).then((status) => this.#count(path, status));
  }

  #sendRun(): void {
    const body = JSON.stringify({ count: this.#settings.runCount });
    this.#send('POST', '/api/runs', body).then((status) => {
      this.#count('/api/runs', status);
      this.#log(`run of ${this.#settings.runCount} mails: ${status}`);
    });
  }

  /** Resolves with the answer's status, `error` or `skipped`; never rejects. */
  #send(method: 'GET' | 'POST', path: string, body?: string): Promise<string> {
    if (this.#inFlight >= this.#maxInFlight) return Promise.resolve('skipped');
    this.#inFlight++;
    const url = new URL(path, this.#settings.targetUrl);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<string>((resolve) => {
      const sent = request(
        url,
        {
          method,
          agent: false,
          timeout: TIMEOUT_MS,
          headers: { 'user-agent': 'mail-worker-load', ...(body ? { 'content-type': 'application/json' } : {}) },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(String(response.statusCode)));
          response.on('error', () => resolve('error'));
        },
      );
      sent.on('timeout', () => sent.destroy(new Error('timed out')));
      sent.on('error', () => resolve('error'));
      sent.end(body);
    }).finally(() => this.#inFlight--);
  }
}

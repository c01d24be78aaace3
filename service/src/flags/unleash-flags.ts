import type { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { Unleash, UnleashEvents } from 'unleash-client';
import {
  DEFAULT_FLAGS,
  FLAG_BULK_SEND,
  FLAG_SEND_STRATEGY,
  type Flags,
  type FlagsSnapshot,
  isSendStrategy,
  type SendStrategy,
} from './flags.ts';

export interface UnleashOptions {
  url: string;
  apiToken?: string;
  environment: string;
  refreshIntervalMs: number;
  /** Folder of the client's backup file: the last values fetched, read again at start. */
  backupPath?: string;
  log: { warn(msg: string): void; info(msg: string): void };
}

/**
 * Flags from an Unleash server through the official client. Start-up never
 * waits for Unleash: until the first fetch (or the backup file) delivers a
 * flag, its documented default applies. When Unleash stops answering, the
 * client keeps the last values it fetched, and a warning says so.
 */
export class UnleashFlags implements Flags {
  readonly #client: Unleash;
  readonly #url: string;
  #problem: string | undefined;

  constructor(options: UnleashOptions) {
    this.#url = options.url;
    this.#client = new Unleash({
      url: options.url,
      appName: 'mail-worker',
      instanceId: hostname(),
      environment: options.environment,
      refreshInterval: options.refreshIntervalMs,
      ...(options.apiToken !== undefined ? { customHeaders: { Authorization: options.apiToken } } : {}),
      ...(options.backupPath !== undefined ? { backupPath: options.backupPath } : {}),
      skipInstanceCountWarning: true,
    });
    const recovered = () => {
      if (this.#problem !== undefined) options.log.info(`Unleash at ${this.#url} answers again`);
      this.#problem = undefined;
    };
    this.#client.on(UnleashEvents.Changed, recovered);
    this.#client.on(UnleashEvents.Unchanged, recovered);
    this.#client.on(UnleashEvents.Error, (error: Error) => {
      if (this.#problem === undefined) options.log.warn(`Unleash at ${this.#url} is unreachable: ${error.message}`);
      this.#problem = error.message;
    });
    this.#client.on(UnleashEvents.Warn, (message: string) => options.log.warn(`Unleash: ${message}`));
  }

  evaluate(stickiness?: string): FlagsSnapshot {
    const context = stickiness === undefined ? {} : { sessionId: stickiness };
    const known = (name: string) => this.#client.getFeatureToggleDefinition(name) !== undefined;

    const bulkSend = known(FLAG_BULK_SEND)
      ? { enabled: this.#client.isEnabled(FLAG_BULK_SEND, context), source: 'unleash' as const }
      : DEFAULT_FLAGS.bulkSend;

    let sendStrategy = DEFAULT_FLAGS.sendStrategy;
    if (known(FLAG_SEND_STRATEGY)) {
      const variant = this.#client.getVariant(FLAG_SEND_STRATEGY, context);
      const name: SendStrategy = variant.enabled && isSendStrategy(variant.name) ? variant.name : 'default';
      sendStrategy = { variant: name, source: 'unleash' };
    }

    const warning =
      this.#problem === undefined
        ? undefined
        : `Unleash is unreachable (${this.#problem}); ${known(FLAG_BULK_SEND) || known(FLAG_SEND_STRATEGY) ? 'using the last known values' : 'using the defaults'}`;
    return { bulkSend, sendStrategy, ...(warning ? { warning } : {}) };
  }

  async close(): Promise<void> {
    this.#client.destroy();
    // unleash-client 6 drops the repository's listeners on destroy(), yet a
    // fetch still in flight reports its failure to that repository; with no
    // listener, the 'error' event becomes an unhandled rejection that ends
    // the process. A no-op listener absorbs that late report.
    (this.#client as unknown as { repository: EventEmitter }).repository.on('error', () => {});
  }
}

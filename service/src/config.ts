import { readFileSync } from 'node:fs';
import { type Mailbox, parseMailbox } from './mail/mailbox.ts';
import type { SmtpSettings } from './mail/transport.ts';
import type { DeliveryPolicy } from './queue/delivery-policy.ts';
import type { LoadSettings } from './load/generator.ts';
import { MAX_RUN_SIZE } from './runs/bulk-send.ts';

// Every environment variable the service reads, parsed and validated in one
// place. A bad value stops start-up with a message naming the variable and
// what it accepts, instead of surfacing later as a confusing runtime error.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  smtp: SmtpSettings;
  mailFrom: Mailbox;
  embeddedMailCatcher: boolean;
  mailCatcherUrl?: string;
  unleash?: { url: string; apiToken?: string; environment: string; refreshIntervalMs: number; backupPath?: string };
  unleashUiUrl?: string;
  flagsFile: string;
  workerConcurrency: number;
  sendRateLimit?: number;
  delivery: DeliveryPolicy;
  shutdownGraceMs: number;
  admin?: { user: string; password: string };
  logLevel: LogLevel;
  import: { maxBytes: number; maxRows: number };
  appVersion: string;
  podName: string;
  faults: { errorRate: number; delayMs: number };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Reads variables, remembering each problem so all of them are reported at once. */
class EnvReader {
  readonly problems: string[] = [];
  readonly #env: Env;
  constructor(env: Env) {
    this.#env = env;
  }

  optional(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(raw)}: expected a number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}=${JSON.stringify(raw)}: expected one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** One mailbox, `Name <address>` or a bare address; the address as strict as a recipient's. */
  mailbox(name: string, fallback: string): Mailbox {
    const raw = this.string(name, fallback);
    const mailbox = parseMailbox(raw);
    if (mailbox !== undefined) return mailbox;
    this.problems.push(`${name}=${JSON.stringify(raw)}: expected one mailbox, e.g. "Mail Worker <mail-worker@example.test>"`);
    return parseMailbox(fallback) as Mailbox;
  }

  url(name: string, fallback: string | undefined, protocols: readonly string[]): string | undefined {
    const raw = this.optional(name) ?? fallback;
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      this.problems.push(`${name}: not a valid URL (expected ${protocols.map((p) => `${p}//…`).join(' or ')})`);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name}: unsupported scheme ${parsed.protocol} (expected ${protocols.join(' or ')})`);
      return undefined;
    }
    return raw;
  }
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface FlagSetupConfig {
  url: string;
  adminToken: string;
  environment: string;
  /** How long to keep trying while Unleash is still starting. */
  waitMs: number;
  /** How often the app's clients fetch the flags (the app's own setting). */
  refreshIntervalMs: number;
}

/** UNLEASH_REFRESH_INTERVAL_MS: read by the app's clients and by the setup that waits for them. */
const unleashRefreshIntervalMs = (read: EnvReader) => read.integer('UNLEASH_REFRESH_INTERVAL_MS', 5000, 500, 3_600_000);

/** What `mail-worker setup-flags` reads: only the Unleash Admin API's address and token. */
export function loadFlagSetupConfig(env: Env = process.env): FlagSetupConfig {
  const read = new EnvReader(env);
  const url = read.url('UNLEASH_URL', undefined, ['http:', 'https:']);
  const adminToken = read.optional('UNLEASH_ADMIN_TOKEN');
  if (url === undefined && !read.problems.some((p) => p.startsWith('UNLEASH_URL')))
    read.problems.push('UNLEASH_URL: required (the API base, e.g. http://localhost:4242/api)');
  if (adminToken === undefined) read.problems.push('UNLEASH_ADMIN_TOKEN: required (an admin API token)');
  const config = {
    url: url ?? '',
    adminToken: adminToken ?? '',
    environment: read.string('UNLEASH_ENVIRONMENT', 'development'),
    waitMs: read.integer('UNLEASH_SETUP_WAIT_MS', 120_000, 0, 3_600_000),
    refreshIntervalMs: unleashRefreshIntervalMs(read),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

export interface LoadGeneratorConfig extends LoadSettings {
  appVersion: string;
  port: number;
  host: string;
  logLevel: LogLevel;
}

/** What `mail-worker load` reads: where to send, how much, and its own port for probes and metrics. */
export function loadGeneratorConfig(env: Env = process.env): LoadGeneratorConfig {
  const read = new EnvReader(env);
  const targetUrl = read.url('LOAD_TARGET_URL', undefined, ['http:', 'https:']);
  if (targetUrl === undefined && !read.problems.some((p) => p.startsWith('LOAD_TARGET_URL')))
    read.problems.push("LOAD_TARGET_URL: required (the web's URL, e.g. http://mail-worker-web:3000)");
  const paths = read
    .string('LOAD_PATHS', '/,/api/version')
    .split(',')
    .map((path) => path.trim())
    .filter((path) => path !== '');
  if (paths.some((path) => !path.startsWith('/')))
    read.problems.push(`LOAD_PATHS=${JSON.stringify(paths.join(','))}: expected paths starting with /, separated by commas`);
  const config = {
    targetUrl: targetUrl ?? '',
    requestsPerSecond: read.number('LOAD_REQUESTS_PER_SECOND', 10, 0, 1000),
    paths,
    runCount: read.integer('LOAD_RUN_COUNT', 0, 0, MAX_RUN_SIZE),
    runEverySeconds: read.integer('LOAD_RUN_EVERY_SECONDS', 60, 1, 86_400),
    reportSeconds: read.integer('LOAD_REPORT_SECONDS', 10, 1, 3600),
    appVersion: read.string('APP_VERSION', packageVersion()),
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

/** The SQLite file used when DATABASE_URL is not set. */
export const DEFAULT_DATABASE_URL = 'file:./data/mail-worker.sqlite';

export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);

  const databaseUrl = read.string('DATABASE_URL', DEFAULT_DATABASE_URL);
  if (!/^(file:|sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    read.problems.push('DATABASE_URL: expected file:PATH (SQLite) or postgres://… (PostgreSQL)');
  }

  const smtpUser = read.optional('SMTP_USER');
  const smtpPassword = read.optional('SMTP_PASSWORD');
  if ((smtpUser === undefined) !== (smtpPassword === undefined)) {
    read.problems.push('SMTP_USER and SMTP_PASSWORD: set both or neither');
  }

  const adminUser = read.optional('ADMIN_USER');
  const adminPassword = read.optional('ADMIN_PASSWORD');
  if ((adminUser === undefined) !== (adminPassword === undefined)) {
    read.problems.push('ADMIN_USER and ADMIN_PASSWORD: set both or neither');
  }

  const unleashUrl = read.url('UNLEASH_URL', undefined, ['http:', 'https:']);
  const apiToken = read.optional('UNLEASH_API_TOKEN');

  const config: Config = {
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0'),
    databaseUrl,
    redisUrl: read.url('REDIS_URL', 'redis://localhost:6379/0', ['redis:', 'rediss:']) ?? '',
    smtp: {
      host: read.string('SMTP_HOST', 'localhost'),
      port: read.integer('SMTP_PORT', 1025, 1, 65535),
      secure: read.boolean('SMTP_SECURE', false),
      ...(smtpUser !== undefined && smtpPassword !== undefined ? { user: smtpUser, password: smtpPassword } : {}),
    },
    mailFrom: read.mailbox('MAIL_FROM', 'Mail Worker <mail-worker@example.test>'),
    embeddedMailCatcher: read.boolean('EMBEDDED_MAIL_CATCHER', false),
    mailCatcherUrl: read.url('MAIL_CATCHER_URL', undefined, ['http:', 'https:']),
    unleash:
      unleashUrl === undefined
        ? undefined
        : {
            url: unleashUrl,
            ...(apiToken !== undefined ? { apiToken } : {}),
            environment: read.string('UNLEASH_ENVIRONMENT', 'development'),
            refreshIntervalMs: unleashRefreshIntervalMs(read),
            ...(read.optional('UNLEASH_BACKUP_PATH') !== undefined ? { backupPath: read.string('UNLEASH_BACKUP_PATH', '') } : {}),
          },
    unleashUiUrl: read.url('UNLEASH_UI_URL', undefined, ['http:', 'https:']),
    flagsFile: read.string('FLAGS_FILE', './flags.json'),
    workerConcurrency: read.integer('WORKER_CONCURRENCY', 20, 1, 1000),
    sendRateLimit: read.optional('SEND_RATE_LIMIT') === undefined ? undefined : read.number('SEND_RATE_LIMIT', 0, 0.1, 100_000),
    delivery: {
      retries: read.integer('SEND_RETRIES', 3, 0, 20),
      retryBaseDelayMs: read.integer('SEND_RETRY_DELAY_MS', 1000, 0, 3_600_000),
      lockMs: read.integer('JOB_LOCK_MS', 30_000, 1000, 3_600_000),
    },
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_MS', 25_000, 0, 3_600_000),
    admin: adminUser !== undefined && adminPassword !== undefined ? { user: adminUser, password: adminPassword } : undefined,
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    import: {
      maxBytes: read.integer('IMPORT_MAX_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxRows: read.integer('IMPORT_MAX_ROWS', 200_000, 1, 10_000_000),
    },
    appVersion: read.string('APP_VERSION', packageVersion()),
    podName: read.string('POD_NAME', read.string('HOSTNAME', 'local')),
    faults: {
      errorRate: read.number('FAULT_ERROR_RATE', 0, 0, 1),
      delayMs: read.integer('FAULT_DELAY_MS', 0, 0, 60_000),
    },
  };

  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

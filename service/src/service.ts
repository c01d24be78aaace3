import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { sql } from 'kysely';
import type { Config } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrations.ts';
import { FileFlags } from './flags/file-flags.ts';
import type { Flags } from './flags/flags.ts';
import type { MailCatcher } from './mail/catcher.ts';
import { createTransport } from './mail/transport.ts';
import { succeedsWithin } from './deadline.ts';
import { createMetrics, registerQueueGauges } from './metrics.ts';
import { SystemMonitor } from './monitor/system.ts';
import { PodFaults } from './web/faults.ts';
import { ThroughputRecorder } from './monitor/throughput.ts';
import { closeQueues, openQueues, redisConnection, workerName } from './queue/queues.ts';
import { RecipientStore } from './recipients/store.ts';
import { BulkSender } from './runs/bulk-send.ts';
import { RunStore } from './runs/store.ts';
import { buildHealthApp } from './web/app.ts';
import { MailWorkers } from './worker/worker.ts';

export const MODES = ['web', 'worker', 'all', 'migrate'] as const;
export type Mode = (typeof MODES)[number];

export interface RunningService {
  /** The HTTP server (every mode but migrate). */
  app?: FastifyInstance;
  url?: string;
  catcher?: MailCatcher;
  logger: Logger;
  /** Closes every part in the reverse order of starting it. */
  close(): Promise<void>;
}

function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    // Invariant: secrets never reach the log.
    redact: ['req.headers.authorization', 'req.headers.cookie', 'config.smtp.password', 'config.admin.password'],
  });
}

/**
 * Builds and starts the parts a mode needs. `all` is the local mode: it also
 * migrates first, so one command gives a working stack.
 */
export async function startService(mode: Mode, config: Config, logger: Logger = createLogger(config)): Promise<RunningService> {
  const closers: Array<{ name: string; close: () => Promise<unknown> }> = [];
  const started = (name: string, close: () => Promise<unknown>) => closers.unshift({ name, close });
  const close = async () => {
    for (const part of closers.splice(0)) {
      try {
        await part.close();
      } catch (error) {
        logger.warn({ err: error }, `closing ${part.name} failed`);
      }
    }
  };

  try {
    const database = openDatabase(config.databaseUrl);
    started('database', () => database.close());
    logger.info(`database: ${database.description}`);

    if (mode === 'migrate' || mode === 'all') {
      const applied = await migrate(database);
      logger.info(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
    }
    if (mode === 'migrate') return { logger, close };

    const metrics = createMetrics(config.appVersion);
    const identity = { pod: config.podName, version: config.appVersion };
    const runs = new RunStore(database.db, identity);
    const connection = redisConnection(config.redisUrl, 'queue');
    // ioredis reports connection trouble as 'error' events; it reconnects by itself.
    connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
    started('redis', () => connection.quit().catch(() => connection.disconnect()));
    const queues = openQueues(connection);
    started('queues', () => closeQueues(queues));
    registerQueueGauges(metrics, queues);

    const checks: Record<string, () => Promise<boolean>> = {
      database: () => succeedsWithin(2000, () => sql`select 1`.execute(database.db)),
      redis: () => succeedsWithin(2000, () => connection.ping()),
    };
    const readiness = async () => {
      const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await check()] as const));
      return Object.fromEntries(entries);
    };

    let catcher: MailCatcher | undefined;
    if (config.embeddedMailCatcher) {
      // Loaded only when used (as are the dashboard and Unleash below): a
      // worker process stays small.
      const { MailCatcher } = await import('./mail/catcher.ts');
      catcher = new MailCatcher();
      await catcher.listen(config.smtp.port, config.smtp.host === 'localhost' ? '127.0.0.1' : config.smtp.host);
      started('mail catcher', () => (catcher as MailCatcher).close());
      logger.info(`mail catcher: SMTP on ${config.smtp.host}:${config.smtp.port}, mails at /mail`);
    }

    if (mode === 'worker' || mode === 'all') {
      const transport = createTransport(config.smtp, config.workerConcurrency);
      started('mail transport', async () => transport.close());
      // Closed after the workers (the last counts flushed), before Redis.
      const throughput = new ThroughputRecorder(connection, workerName(identity));
      started('throughput', () => throughput.close());
      const workers = new MailWorkers(
        { runs, transport, mailFrom: config.mailFrom, metrics, throughput, worker: identity },
        {
          redisUrl: config.redisUrl,
          concurrency: config.workerConcurrency,
          ...(config.sendRateLimit !== undefined ? { rateLimit: config.sendRateLimit } : {}),
          shutdownGraceMs: config.shutdownGraceMs,
          policy: config.delivery,
          log: logger,
        },
      );
      workers.start();
      started('workers', () => workers.close());
      checks.worker = () =>
        succeedsWithin(2000, async () => {
          if (!(await workers.isReady())) throw new Error('worker connection down');
        });
      logger.info(`worker: concurrency ${config.workerConcurrency} per queue`);
    }

    let app: FastifyInstance;
    if (mode === 'worker') {
      app = buildHealthApp({ logger, metrics, readiness });
    } else {
      const flags: Flags = config.unleash
        ? new (await import('./flags/unleash-flags.ts')).UnleashFlags({
            ...config.unleash,
            log: logger,
          })
        : new FileFlags(config.flagsFile);
      started('flags', () => flags.close());
      const traffic = new ThroughputRecorder(connection, workerName(identity), { heartbeat: true });
      started('traffic counts', () => traffic.close());
      const faults = new PodFaults(config.faults);
      // A pod made unready at runtime leaves the Service's endpoints; it stays alive.
      checks.faults = async () => faults.ready;
      const { buildWebApp } = await import('./web/web-app.ts');
      app = buildWebApp({
        config,
        logger,
        db: database.db,
        recipients: new RecipientStore(database.db),
        runs,
        bulk: new BulkSender(runs, queues, flags, config.delivery),
        queues,
        monitor: new SystemMonitor(queues, connection),
        traffic,
        faults,
        flags,
        metrics,
        readiness,
        ...(catcher ? { catcher } : {}),
      });
    }
    const url = await app.listen({ port: config.port, host: config.host });
    started('http server', () => app.close());
    return { app, url, logger, close, ...(catcher ? { catcher } : {}) };
  } catch (error) {
    await close();
    throw error;
  }
}

#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, loadConfig, loadFlagSetupConfig, loadGeneratorConfig } from './config.ts';
import { setupUnleashFlags, UnleashAdminError } from './flags/unleash-setup.ts';
import { MODES, type Mode, startService } from './service.ts';

const USAGE = `usage: mail-worker <mode>

modes:
  web      the dashboard, JSON API, bull-board (/queues), /healthz, /readyz, /metrics
  worker   the queue workers that send the mails; serves /healthz, /readyz, /metrics
  all      web and worker in one process (local use); migrates the database first
  migrate  brings the database schema up to date, then exits

commands:
  load         the load generator (the chart's loadGenerator.*): requests to
               LOAD_TARGET_URL at LOAD_REQUESTS_PER_SECOND over LOAD_PATHS,
               and a run of LOAD_RUN_COUNT mails every LOAD_RUN_EVERY_SECONDS;
               serves /healthz, /readyz, /metrics
  setup-flags  creates the feature flags bulk_send_feature and send_strategy in
               the Unleash at UNLEASH_URL (with UNLEASH_ADMIN_TOKEN), leaving
               existing ones as they are; waits up to UNLEASH_SETUP_WAIT_MS for
               Unleash to answer

Configuration comes from environment variables: see the README.`;

const EX_CONFIG = 78;

/** The configuration READ gives, or undefined after printing what is wrong with it. */
function readConfig<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`mail-worker: ${error.message}`);
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const mode = argv[0];
  if (mode === undefined || mode === '--help' || mode === '-h') {
    console.log(USAGE);
    return mode === undefined ? 2 : 0;
  }
  if (mode === 'setup-flags') return setupFlags();
  if (mode === 'load') return generateLoad();
  if (!(MODES as readonly string[]).includes(mode)) {
    console.error(`mail-worker: unknown mode ${JSON.stringify(mode)}\n\n${USAGE}`);
    return 2;
  }

  const config = readConfig(loadConfig);
  if (config === undefined) return EX_CONFIG;

  const service = await startService(mode as Mode, config);
  if (mode === 'migrate') {
    await service.close();
    return 0;
  }

  closeOnSignal(service.logger, service.close);
  return -1; // keep running
}

/** Until SIGTERM or SIGINT: then CLOSE, and the exit code. */
function closeOnSignal(
  log: { info(msg: string): void; warn(msg: string): void; error(obj: unknown, msg: string): void },
  close: () => Promise<void>,
) {
  // The first signal drains and closes in order; a second one gives up waiting.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function generateLoad(): Promise<number> {
  const config = readConfig(loadGeneratorConfig);
  if (config === undefined) return EX_CONFIG;
  const logger = pino({ level: config.logLevel });
  const { createMetrics } = await import('./metrics.ts');
  const { buildHealthApp } = await import('./web/app.ts');
  const { LoadGenerator } = await import('./load/generator.ts');
  const metrics = createMetrics(config.appVersion);
  const generator = new LoadGenerator(config, metrics.registry, (line) => logger.info(line));
  // Ready once listening: it has nothing to wait for.
  const app = buildHealthApp({ logger, metrics, readiness: async () => ({ generator: true }) });
  await app.listen({ port: config.port, host: config.host });
  generator.start();
  closeOnSignal(logger, async () => {
    await generator.close();
    await app.close();
  });
  return -1; // keep running
}

async function setupFlags(): Promise<number> {
  const config = readConfig(loadFlagSetupConfig);
  if (config === undefined) return EX_CONFIG;
  const deadline = Date.now() + config.waitMs;
  for (;;) {
    try {
      const result = await setupUnleashFlags({ ...config, log: (line) => console.log(line) });
      if (Object.values(result).includes('created')) {
        // A flag is created, then switched on: a client that fetched in
        // between holds it off until its next fetch. Ending one fetch
        // interval later means that when this hook returns (and with it
        // helm --wait and scripts/deploy.sh), the app's pods hold the flags
        // as made, and a learner's first run is not refused.
        console.log(`waiting ${config.refreshIntervalMs} ms, one fetch of the app's Unleash clients`);
        await new Promise((resolve) => setTimeout(resolve, config.refreshIntervalMs));
      }
      return 0;
    } catch (error) {
      const unreachable = error instanceof UnleashAdminError && error.message.startsWith('cannot reach');
      if (!unreachable || Date.now() > deadline) throw error;
      console.log(`${error.message}; trying again`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`mail-worker: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);

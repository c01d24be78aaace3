#!/usr/bin/env node
import { ConfigError, loadConfig, loadFlagSetupConfig } from './config.ts';
import { setupUnleashFlags, UnleashAdminError } from './flags/unleash-setup.ts';
import { MODES, type Mode, startService } from './service.ts';

const USAGE = `usage: mail-worker <mode>

modes:
  web      the dashboard, JSON API, bull-board (/queues), /healthz, /readyz, /metrics
  worker   the queue workers that send the mails; serves /healthz, /readyz, /metrics
  all      web and worker in one process (local use); migrates the database first
  migrate  brings the database schema up to date, then exits

command:
  setup-flags  creates the feature flags bulk_send_feature and send_strategy in
               the Unleash at UNLEASH_URL (with UNLEASH_ADMIN_TOKEN), leaving
               existing ones as they are; waits up to UNLEASH_SETUP_WAIT_MS for
               Unleash to answer

Configuration comes from environment variables: see the README.`;

async function main(argv: string[]): Promise<number> {
  const mode = argv[0];
  if (mode === undefined || mode === '--help' || mode === '-h') {
    console.log(USAGE);
    return mode === undefined ? 2 : 0;
  }
  if (mode === 'setup-flags') return setupFlags();
  if (!(MODES as readonly string[]).includes(mode)) {
    console.error(`mail-worker: unknown mode ${JSON.stringify(mode)}\n\n${USAGE}`);
    return 2;
  }

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`mail-worker: ${error.message}`);
      return 78; // EX_CONFIG
    }
    throw error;
  }

  const service = await startService(mode as Mode, config);
  if (mode === 'migrate') {
    await service.close();
    return 0;
  }

  // The first signal drains and closes in order; a second one gives up waiting.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      service.logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    service.logger.info(`${signal}: shutting down`);
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        service.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return -1; // keep running
}

async function setupFlags(): Promise<number> {
  let config;
  try {
    config = loadFlagSetupConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`mail-worker: ${error.message}`);
    return 78;
  }
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

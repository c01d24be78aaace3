#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.ts';
import { MODES, type Mode, startService } from './service.ts';

const USAGE = `usage: mail-worker <mode>

modes:
  web      the dashboard, JSON API, bull-board (/queues), /healthz, /readyz, /metrics
  worker   the queue workers that send the mails; serves /healthz, /readyz, /metrics
  all      web and worker in one process (local use); migrates the database first
  migrate  brings the database schema up to date, then exits

Configuration comes from environment variables: see the README.`;

async function main(argv: string[]): Promise<number> {
  const mode = argv[0];
  if (mode === undefined || mode === '--help' || mode === '-h') {
    console.log(USAGE);
    return mode === undefined ? 2 : 0;
  }
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`mail-worker: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);

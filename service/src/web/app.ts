import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Flags } from '../flags/flags.ts';
import type { MailCatcher } from '../mail/catcher.ts';
import type { Metrics } from '../metrics.ts';
import type { SystemMonitor } from '../monitor/system.ts';
import type { ThroughputRecorder } from '../monitor/throughput.ts';
import type { PodFaults } from './faults.ts';
import type { Queues } from '../queue/queues.ts';
import type { RecipientStore } from '../recipients/store.ts';
import type { BulkSender } from '../runs/bulk-send.ts';
import type { RunStore } from '../runs/store.ts';
import type { Kysely } from 'kysely';
import type { Tables } from '../db/schema.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';
import { httpMetrics } from './http-metrics.ts';
import { validationErrors, validatorCompiler } from './validation.ts';
import { problemBody } from './errors.ts';
import { problem, ProblemError } from '../problems.ts';

export interface WebDeps {
  config: Config;
  logger: FastifyBaseLogger;
  db: Kysely<Tables>;
  recipients: RecipientStore;
  runs: RunStore;
  bulk: BulkSender;
  queues: Queues;
  /** The live panel's figures: queues, workers, web pods, mails per second. */
  monitor: SystemMonitor;
  /** Counts this pod's answers for the live panel. */
  traffic: Pick<ThroughputRecorder, 'count'>;
  /** This pod's deliberate misbehaviour: FAULT_* at start, changed at runtime by the admin API. */
  faults: PodFaults;
  flags: Flags;
  metrics: Metrics;
  readiness: ReadinessCheck;
  catcher?: MailCatcher;
}

/** Answers every error as JSON, never with a stack trace. */
function errorStatus(error: FastifyError): number {
  const status = error.statusCode ?? 500;
  return status >= 400 && status < 600 ? status : 500;
}

/**
 * Errors that say the database or Redis does not answer: a refused or cut
 * connection, or PostgreSQL shutting down (57P01-57P03). Such an outage is
 * a moment in a pod's replacement, not a bug: the answer is 503, which
 * clients and proxies may retry, not 500.
 */
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03']);
function dependencyAway(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (UNAVAILABLE.has(String((e as { code?: unknown }).code))) return true;
    // pg's and ioredis's own words for a connection lost mid-query, and
    // ioredis's for one that is down (its offline queue off, or its retries spent).
    if (/^Connection terminated|^Connection is closed|^Stream isn't writeable|^Reached the max retries per request/.test(e.message))
      return true;
  }
  return false;
}

export function baseApp(logger: FastifyBaseLogger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    // Larger bodies (CSV uploads) are streamed by their own routes.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // A JSON key named __proto__ or constructor.prototype is dropped rather
    // than refusing the whole body: the document allows any extra key, and
    // extra keys are otherwise ignored.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    schemaErrorFormatter: validationErrors(),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = errorStatus(error);
    if (status >= 500 && dependencyAway(error)) {
      request.log.warn({ err: error }, 'request failed: the database or Redis does not answer');
      return reply
        .status(503)
        .header('retry-after', '5')
        .send(problemBody(problem('service.unavailable')));
    }
    // A 413 before the body was read to its end: the connection goes with
    // it, or a keep-alive client's next request down it would be read as
    // the rest of that body and never answered.
    if (status === 413 && !request.raw.complete) reply.header('connection', 'close');
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = status >= 500 ? 'internal error: see the server log' : error.message;
    if (error instanceof ProblemError) return reply.status(status).send(problemBody(error.problem));
    const details = status < 500 ? (error as { details?: Record<string, string> }).details : undefined;
    return reply.status(status).send({ error: message, ...(error.code ? { code: error.code } : {}), ...(details ? { details } : {}) });
  });
  return app;
}

/** What a worker pod serves on PORT: probes and metrics only. */
export function buildHealthApp(deps: { logger: FastifyBaseLogger; metrics: Metrics; readiness: ReadinessCheck }): FastifyInstance {
  const app = baseApp(deps.logger);
  app.register(httpMetrics, { metrics: deps.metrics });
  app.register(healthRoutes, { metrics: deps.metrics, readiness: deps.readiness });
  return app;
}

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queues } from './queue/queues.ts';

// Metric names are part of the contract: the chart's AnalysisTemplate queries
// the http_* ones, the Grafana dashboard the mail_* and bullmq_* ones.

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status_code'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  deliveries: Counter<'queue' | 'outcome'>;
  sendDuration: Histogram<'queue'>;
}

/** `version` is APP_VERSION: the info series the dashboard's by-version panels join on. */
export function createMetrics(version: string): Metrics {
  const registry = new Registry();
  // The event loop's delay is sampled by a timer; prom-client's default of
  // every 10 ms woke each idle process 100 times a second, 0.8% of a core
  // on a 2-core machine, most of what a web or worker pod used at rest
  // (docs/performance.md). Ten samples a second still catch a stalled loop.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  // One series per pod whose label says its version (the "info metric"
  // pattern): a query joins on it by pod instead of every series carrying
  // the version.
  new Gauge({
    name: 'mail_worker_build_info',
    help: 'Always 1; its version label is the version this process runs (APP_VERSION).',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version }, 1);
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'mail_deliveries_total',
      help: 'Delivery attempts by queue and outcome: sent, failed (final) or retried (will be tried again).',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    }),
    sendDuration: new Histogram({
      name: 'mail_send_duration_seconds',
      help: "Time one mail took until the SMTP server accepted it, the run's simulated relay latency included.",
      labelNames: ['queue'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}

/**
 * Queue depth per state, read from Redis at scrape time (the same figures
 * BullMQ's own Prometheus export gives, under its metric name).
 */
export function registerQueueGauges(metrics: Metrics, queues: Queues): void {
  new Gauge({
    name: 'bullmq_job_count',
    help: 'Jobs in each queue by state.',
    labelNames: ['queue', 'state'],
    registers: [metrics.registry],
    async collect() {
      this.reset();
      for (const [name, queue] of Object.entries(queues)) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed');
        for (const [state, count] of Object.entries(counts)) this.set({ queue: name, state }, count);
      }
    },
  });
}

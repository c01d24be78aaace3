import type { Test } from 'tap';
import { startApp } from './app.ts';
import { startRedis } from './servers.ts';

/** Metric names a running web service exposes on /metrics (histograms with their _bucket, _sum, _count series). */
export async function exportedMetricNames(t: Test): Promise<Set<string>> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const service = await startApp(t, 'web', { REDIS_URL: redis.url });
  await service.app!.inject({ method: 'GET', url: '/healthz' });
  const text = (await service.app!.inject({ method: 'GET', url: '/metrics' })).body;
  // Every series with a sample, and every metric declared (a worker's
  // counters have no sample on a web pod): a histogram as its three series.
  const sampled = [...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/gm)].map((m) => m[1] as string);
  const declared = [...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(([, name, type]) =>
    type === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => `${name}${suffix}`) : [name as string],
  );
  return new Set([...sampled, ...declared]);
}

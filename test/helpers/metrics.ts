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
  return new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/gm)].map((m) => m[1] as string));
}

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort, waitFor } from './ports.ts';
import { cluster } from './cluster.ts';

/**
 * A real Prometheus (built from the Go module proxy, PROMETHEUS_BIN) on
 * 127.0.0.1, scraping the web pods of one namespace of the test cluster as
 * the chart's PodMonitor has the Prometheus Operator do: /metrics on the
 * `http` port of every web pod, each series labelled with the pod's
 * rollouts-pod-template-hash. It finds the pods through the API server
 * (Kubernetes service discovery) and reaches them on the real node's bridge.
 */
export async function startPrometheus(t: Test, namespace: string): Promise<{ url: string }> {
  const bin = process.env.PROMETHEUS_BIN;
  if (!bin) throw new Error('PROMETHEUS_BIN is not set: run the suite through hack/test.sh, which builds Prometheus (ensure_prometheus)');
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const port = await freePort();
  const config = {
    global: { scrape_interval: '5s', evaluation_interval: '5s' },
    scrape_configs: [
      {
        job_name: 'mail-worker-web',
        metrics_path: '/metrics',
        kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: cluster().kubeconfig, namespaces: { names: [namespace] } }],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], regex: 'web', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http', action: 'keep' },
          {
            source_labels: ['__meta_kubernetes_pod_label_rollouts_pod_template_hash'],
            target_label: 'rollouts_pod_template_hash',
          },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config)); // JSON is YAML
  const child = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
  t.teardown(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'Prometheus ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`Prometheus exited (${child.exitCode}): ${log}`);
      const response = await fetch(`${url}/-/ready`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    60_000,
  );
  return { url };
}

/** The result of an instant query, as numbers (empty when nothing matches). */
export async function query(url: string, promql: string): Promise<number[]> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.map((r) => Number(r.value[1]));
}

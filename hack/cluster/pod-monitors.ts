// The test cluster's stand-in for the Prometheus Operator, for its one job
// here: turning PodMonitors into Prometheus scrape jobs. kube-prometheus-stack
// (scripts/install-addons.sh --monitoring) runs the operator in a pod; the
// test cluster runs Prometheus on its real node's host instead, and this
// program writes its configuration from the PodMonitors it finds, the way the
// operator does for the fields the chart uses (namespace, matchLabels,
// podTargetLabels, port, path, interval), then asks Prometheus to reload.
//
// It polls every 5 seconds: simpler than a watch, and quick enough for an
// analysis that measures every 30 seconds.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: {
    kubectl: { type: 'string' },
    kubeconfig: { type: 'string' },
    config: { type: 'string' },
    prometheus: { type: 'string' },
  },
});
const { kubectl, kubeconfig, config, prometheus } = values;
if (!kubectl || !kubeconfig || !config || !prometheus)
  throw new Error('usage: pod-monitors.ts --kubectl BIN --kubeconfig FILE --config FILE --prometheus URL');

interface PodMonitor {
  metadata: { name: string; namespace: string };
  spec: {
    selector?: { matchLabels?: Record<string, string> };
    podTargetLabels?: string[];
    podMetricsEndpoints?: { port?: string; path?: string; interval?: string }[];
  };
}

/** A label name as Prometheus's Kubernetes discovery spells it in its meta labels. */
const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** The scrape jobs the Prometheus Operator would make of these PodMonitors. */
function scrapeJobs(monitors: PodMonitor[]): unknown[] {
  return monitors.flatMap((m) =>
    (m.spec.podMetricsEndpoints ?? []).map((endpoint, i) => ({
      job_name: `podMonitor/${m.metadata.namespace}/${m.metadata.name}/${i}`,
      metrics_path: endpoint.path ?? '/metrics',
      ...(endpoint.interval ? { scrape_interval: endpoint.interval } : {}),
      kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: kubeconfig, namespaces: { names: [m.metadata.namespace] } }],
      relabel_configs: [
        ...Object.entries(m.spec.selector?.matchLabels ?? {}).map(([key, value]) => ({
          source_labels: [`__meta_kubernetes_pod_label_${sanitize(key)}`, `__meta_kubernetes_pod_labelpresent_${sanitize(key)}`],
          regex: `(${value});true`,
          action: 'keep',
        })),
        ...(endpoint.port ? [{ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: endpoint.port, action: 'keep' }] : []),
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
        ...(m.spec.podTargetLabels ?? []).map((label) => ({
          source_labels: [`__meta_kubernetes_pod_label_${sanitize(label)}`],
          target_label: sanitize(label),
        })),
      ],
    })),
  );
}

let written = '';
for (;;) {
  try {
    const { stdout } = await promisify(execFile)(kubectl, ['--kubeconfig', kubeconfig, 'get', 'podmonitors', '-A', '-o', 'json'], {
      maxBuffer: 16 << 20,
    });
    const text = JSON.stringify({ scrape_configs: scrapeJobs((JSON.parse(stdout) as { items: PodMonitor[] }).items) }); // JSON is YAML
    if (text !== written) {
      writeFileSync(config, text);
      const reload = await fetch(`${prometheus}/-/reload`, { method: 'POST' });
      if (!reload.ok) throw new Error(`Prometheus refused the reload: ${reload.status} ${await reload.text()}`);
      written = text;
      console.log(`${new Date().toISOString()} scrape jobs: ${(JSON.parse(text) as { scrape_configs: unknown[] }).scrape_configs.length}`);
    }
  } catch (e) {
    console.error(`${new Date().toISOString()} ${(e as Error).message}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 5000));
}

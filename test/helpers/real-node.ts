import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { cluster, getJson, kubectl } from './cluster.ts';

// The test cluster's real node (hack/cluster-local.sh up --real): a
// kubelet with containerd, kube-proxy and CoreDNS, running the images built
// on this machine. It is tainted so the kwok matrix never lands there; a
// namespace made here sends every pod of its own to it, whatever the chart
// says, through the API server's PodNodeSelector and
// PodTolerationRestriction admission plugins.

const TAINT = 'mail-worker.local/real-node';

/** The images the real node has, by name (test/images/NAME, and app: the service). */
export type ImageName = 'pause' | 'redis' | 'postgresql' | 'mailpit' | 'unleash' | 'keda' | 'app';

export function realImages(): Record<ImageName, { repository: string; tag: string }> {
  const file = join(cluster().dir, 'images.json');
  let refs: Record<ImageName, string>;
  try {
    refs = JSON.parse(readFileSync(file, 'utf8')) as Record<ImageName, string>;
  } catch {
    throw new Error(`the test cluster has no real node (no ${file}): start it with hack/cluster-local.sh up --real`);
  }
  return Object.fromEntries(
    Object.entries(refs).map(([name, ref]) => {
      const at = ref.lastIndexOf(':');
      return [name, { repository: ref.slice(0, at), tag: ref.slice(at + 1) }];
    }),
  ) as Record<ImageName, { repository: string; tag: string }>;
}

/**
 * A fresh namespace whose pods all run on the real node, named PREFIX and a
 * random suffix (or exactly PREFIX, for a guide's own namespace); deleted
 * when the test ends.
 */
export async function realNamespace(t: Test, prefix: string, { exact = false } = {}): Promise<string> {
  const name = exact ? prefix : `${prefix}-${Math.random().toString(16).slice(2, 8)}`;
  await kubectl(
    ['create', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        annotations: {
          'scheduler.alpha.kubernetes.io/node-selector': 'type=real',
          'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([{ key: TAINT, operator: 'Exists', effect: 'NoSchedule' }]),
        },
      },
    }),
  );
  // Waits for the pods to go: the node's 2 cores are shared by every test.
  t.teardown(() =>
    kubectl(['delete', 'namespace', name, '--timeout=120s']).then(
      () => undefined,
      () => undefined,
    ),
  );
  return name;
}

/** The real node's address: its pods' gateway, where they reach this machine. */
export async function realNodeAddress(): Promise<string> {
  const node = await getJson<{ status: { addresses: { type: string; address: string }[] } }>(['node', 'real-node']);
  const address = node.status.addresses.find((a) => a.type === 'InternalIP')?.address;
  if (!address) throw new Error('the real node has no InternalIP');
  return address;
}

interface ServiceJson {
  spec: { clusterIP: string; ports: { name?: string; port: number }[] };
}

/** http://CLUSTER-IP:PORT of a Service: the node's kube-proxy routes it from this machine too. */
export async function serviceUrl(ns: string, service: string, portName: string): Promise<string> {
  const s = await getJson<ServiceJson>(['service', service, '-n', ns]);
  const port = s.spec.ports.find((p) => p.name === portName);
  if (!port) throw new Error(`service ${ns}/${service} has no port named ${portName}`);
  return `http://${s.spec.clusterIP}:${port.port}`;
}

/**
 * A pod's memory as the real node's kernel holds it, from its cgroup (v1,
 * under /mail-worker-real-node: docs/test-cluster.md): the resident memory
 * of its containers now, the pod's limit, and how often the OOM killer
 * acted in it. Undefined once the pod is gone.
 */
export function podMemory(uid: string): { rss: number; limit: number; oomKills: number } | undefined {
  for (const qos of ['burstable', 'guaranteed', 'besteffort']) {
    const dir = `/sys/fs/cgroup/memory/mail-worker-real-node/kubepods/${qos === 'guaranteed' ? '' : `${qos}/`}pod${uid}`;
    try {
      const read = (file: string) => readFileSync(join(dir, file), 'utf8');
      return {
        rss: Number(/^total_rss (\d+)$/m.exec(read('memory.stat'))?.[1]),
        limit: Number(read('memory.limit_in_bytes')),
        oomKills: Number(/^oom_kill (\d+)$/m.exec(read('memory.oom_control'))?.[1] ?? 0),
      };
    } catch {
      // not under this QoS class
    }
  }
  return undefined;
}

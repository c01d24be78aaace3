import { readdirSync, readFileSync } from 'node:fs';
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

/** What podMemory needs to know of a pod: `kubectl get pod -o json` has it. */
export interface PodRef {
  metadata: { uid: string };
  status: { qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort' };
}

/**
 * A pod's memory as the real node's kernel holds it, from its cgroup (v1,
 * under /mail-worker-real-node: docs/test-cluster.md): the resident memory
 * of its containers now, its working set (what `kubectl top` shows: all it
 * uses but the page cache the kernel can drop), the pod's limit, and how
 * often the OOM killer acted in it. Undefined once the pod is gone.
 */
export function podMemory(pod: PodRef): { rss: number; workingSet: number; limit: number; oomKills: number } | undefined {
  // The kubelet groups pods by QoS class: Guaranteed ones directly under kubepods.
  const qos = pod.status.qosClass === 'Guaranteed' ? '' : `${(pod.status.qosClass ?? 'BestEffort').toLowerCase()}/`;
  const dir = `/sys/fs/cgroup/memory/mail-worker-real-node/kubepods/${qos}pod${pod.metadata.uid}`;
  let stat: string;
  try {
    stat = readFileSync(join(dir, 'memory.stat'), 'utf8');
  } catch {
    return undefined;
  }
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const field = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    rss: field(stat, 'total_rss'),
    workingSet: Math.max(0, Number(read('memory.usage_in_bytes')) - field(stat, 'total_inactive_file')),
    limit: Number(read('memory.limit_in_bytes')),
    oomKills: field(read('memory.oom_control'), 'oom_kill'),
  };
}

/** This machine's processes now, from /proc: each one's PID, its parent's, and its command line. */
function processes() {
  const found: { pid: string; parent: string; command: string }[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The name in parentheses may hold spaces: the parent's PID is the second field after it.
      const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!;
      found.push({ pid, parent, command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A process's proportional set size (Pss) in bytes: shared pages split among the processes sharing them. 0 once gone. */
function pss(pid: string): number {
  try {
    return 1024 * Number(/^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * What a kind cluster would hold for the guides, in bytes, by part: the
 * programs the test cluster runs on this machine that kind runs in its node
 * container (by the name cluster-local.sh started each under, with the
 * processes it started, and containerd with its shims, which leave their
 * parent), the add-ons, and the pods of the namespace APP. Programs count
 * their proportional set size, so Argo CD's parts, one binary, are not
 * counted thrice; pods their working set, what `kubectl top` shows.
 * Test-only programs (kwok, the node agent, git daemon) are left out.
 */
export async function clusterMemory(app: string) {
  const { dir } = cluster();
  const table = processes();
  const tree = (pid: string): string[] => [pid, ...table.filter((p) => p.parent === pid).flatMap((p) => tree(p.pid))];
  const program = (name: string) => {
    let pid: string;
    try {
      pid = readFileSync(join(dir, 'pids', name), 'utf8').trim();
    } catch {
      return []; // not started on this cluster
    }
    return tree(pid);
  };
  const shims = table.filter((p) => p.command.includes(`-address ${dir}/containerd/containerd.sock`)).map((p) => p.pid);
  const programs = (...names: string[]) =>
    [...names.flatMap(program), ...(names.includes('containerd') ? shims : [])].reduce((sum, pid) => sum + pss(pid), 0);
  const pods = (await getJson<{ items: (PodRef & { metadata: { namespace: string } })[] }>(['pods', '-A'])).items;
  const podsOf = (namespace: string) =>
    pods.filter((p) => p.metadata.namespace === namespace).reduce((sum, p) => sum + (podMemory(p)?.workingSet ?? 0), 0);
  return {
    kubernetes: programs(
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'containerd',
      'kubelet',
      'kube-proxy',
      'coredns',
    ),
    clusterUp: programs('metrics-server', 'traefik'),
    app: podsOf(app),
    argoCd:
      programs('argocd-redis', 'argocd-repo-server', 'argocd-application-controller', 'argocd-applicationset-controller') +
      podsOf('argocd'),
    argoRollouts: programs('argo-rollouts'),
    keda: podsOf('keda'),
    prometheus: programs('prometheus'),
  };
}

// The node agent of the test cluster: the two things a real node does that
// kwok's simulated nodes do not, and that this chart's behaviour depends on.
//
// 1. The kubelet's configuration check. A real kubelet keeps a container in
//    CreateContainerConfigError while a Secret, ConfigMap or key it reads is
//    missing (and a pod whose volume source is missing in ContainerCreating),
//    retrying until it appears. kwok would make such a pod Ready at once,
//    hiding every sync-wave and hook-ordering defect. Here each scheduled,
//    pending pod is checked; when everything it reads exists it gets the
//    annotation that the harness's pod-ready stage waits for, otherwise its
//    status says what is missing, in the kubelet's words.
// 2. A volume provisioner for the default StorageClass, so claims bind and
//    StatefulSets become ready as on kind: each volume a folder under
//    --volumes, as kind's local-path provisioner makes them, which the real
//    node's kubelet mounts (a simulated node mounts nothing).
//
// It polls the API server once a second: simpler than watches, and cheap at
// the size of a test cluster.
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { parseArgs } from 'node:util';

// Both names are written into the cluster by hack/cluster-local.sh too
// (kwok's pod-ready stage and the StorageClass).
const CONFIG_READY_ANNOTATION = 'harness.mail-worker.local/config';
const PROVISIONER = 'harness.mail-worker.local/host-folders';

/** The API server, and the client certificate the agent uses for it. */
const { values: args } = parseArgs({
  options: {
    server: { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    volumes: { type: 'string' },
  },
});
if (!args.server || !args.ca || !args.cert || !args.key || !args.volumes)
  throw new Error('usage: node-agent.ts --server URL --ca FILE --cert FILE --key FILE --volumes DIR');
const volumes = args.volumes;
const connection = { server: args.server, ca: readFileSync(args.ca), cert: readFileSync(args.cert), key: readFileSync(args.key) };

interface ObjectMeta {
  name: string;
  namespace?: string;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  uid?: string;
}
interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
interface SourceRef {
  name: string;
  optional?: boolean;
}
interface Container {
  name: string;
  image: string;
  env?: { valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef } }[];
  envFrom?: { secretRef?: SourceRef; configMapRef?: SourceRef }[];
}
interface Volume {
  secret?: { secretName: string; optional?: boolean; items?: { key: string }[] };
  configMap?: { name: string; optional?: boolean; items?: { key: string }[] };
}
interface Pod {
  metadata: ObjectMeta;
  spec: { nodeName?: string; containers: Container[]; initContainers?: Container[]; volumes?: Volume[] };
  status?: { phase?: string; containerStatuses?: { state?: { waiting?: { message?: string } } }[] };
}
interface DataObject {
  metadata: ObjectMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
interface Claim {
  metadata: ObjectMeta;
  spec: { storageClassName?: string; accessModes: string[]; resources: { requests: { storage: string } }; volumeName?: string };
  status?: { phase?: string };
}
interface PersistentVolume {
  metadata: ObjectMeta;
  spec: { hostPath: { path: string } };
  status?: { phase?: string };
}
interface List<T> {
  items: T[];
}

function api<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const { server, ...tls } = connection;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { method, ...tls, headers: payload ? { 'content-type': contentType } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const mergePatch = 'application/merge-patch+json';

/** What a real kubelet would say is missing for this pod, or null when it can start. */
function missingConfig(pod: Pod, secrets: Map<string, DataObject>, configMaps: Map<string, DataObject>): string | null {
  const ns = pod.metadata.namespace ?? 'default';
  const find = (kind: 'Secret' | 'ConfigMap', name: string) => (kind === 'Secret' ? secrets : configMaps).get(`${ns}/${name}`);
  const keyOf = (obj: DataObject, key: string) => key in (obj.data ?? {}) || key in (obj.binaryData ?? {});
  const kindWord = (kind: 'Secret' | 'ConfigMap') => (kind === 'Secret' ? 'secret' : 'configmap');

  const checkKey = (kind: 'Secret' | 'ConfigMap', ref: KeyRef): string | null => {
    if (ref.optional) return null;
    const obj = find(kind, ref.name);
    if (!obj) return `${kindWord(kind)} "${ref.name}" not found`;
    return keyOf(obj, ref.key) ? null : `couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`;
  };
  const checkSource = (kind: 'Secret' | 'ConfigMap', ref: SourceRef): string | null =>
    ref.optional || find(kind, ref.name) ? null : `${kindWord(kind)} "${ref.name}" not found`;

  for (const volume of pod.spec.volumes ?? []) {
    const source = volume.secret
      ? { kind: 'Secret' as const, name: volume.secret.secretName, ...volume.secret }
      : volume.configMap
        ? { kind: 'ConfigMap' as const, ...volume.configMap }
        : null;
    if (!source || source.optional) continue;
    const obj = find(source.kind, source.name);
    if (!obj) return `MountVolume.SetUp failed: ${kindWord(source.kind)} "${source.name}" not found`;
    for (const item of source.items ?? []) {
      if (!keyOf(obj, item.key)) return `MountVolume.SetUp failed: references non-existent ${kindWord(source.kind)} key: ${item.key}`;
    }
  }
  for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const env of container.env ?? []) {
      const problem =
        (env.valueFrom?.secretKeyRef && checkKey('Secret', env.valueFrom.secretKeyRef)) ||
        (env.valueFrom?.configMapKeyRef && checkKey('ConfigMap', env.valueFrom.configMapKeyRef));
      if (problem) return problem;
    }
    for (const from of container.envFrom ?? []) {
      const problem =
        (from.secretRef && checkSource('Secret', from.secretRef)) || (from.configMapRef && checkSource('ConfigMap', from.configMapRef));
      if (problem) return problem;
    }
  }
  return null;
}

function byKey(list: List<DataObject>): Map<string, DataObject> {
  return new Map(list.items.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
}

async function checkPods(): Promise<void> {
  const [pods, nodes] = await Promise.all([
    api<List<Pod>>('GET', '/api/v1/pods?fieldSelector=status.phase%3DPending'),
    // Only kwok's nodes: the real node's kubelet checks its pods itself.
    api<List<{ metadata: ObjectMeta }>>('GET', '/api/v1/nodes?labelSelector=type%3Dkwok'),
  ]);
  const simulated = new Set(nodes.items.map((n) => n.metadata.name));
  const waiting = pods.items.filter(
    (p) =>
      p.spec.nodeName &&
      simulated.has(p.spec.nodeName) &&
      !p.metadata.deletionTimestamp &&
      p.metadata.annotations?.[CONFIG_READY_ANNOTATION] !== 'ready',
  );
  if (waiting.length === 0) return;
  const [secrets, configMaps] = await Promise.all([
    api<List<DataObject>>('GET', '/api/v1/secrets').then(byKey),
    api<List<DataObject>>('GET', '/api/v1/configmaps').then(byKey),
  ]);
  for (const pod of waiting) {
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    const problem = missingConfig(pod, secrets, configMaps);
    if (!problem) {
      await api('PATCH', path, { metadata: { annotations: { [CONFIG_READY_ANNOTATION]: 'ready' } } }, mergePatch);
      continue;
    }
    if (pod.status?.containerStatuses?.[0]?.state?.waiting?.message === problem) continue;
    const reason = problem.startsWith('MountVolume') ? 'ContainerCreating' : 'CreateContainerConfigError';
    const containerStatuses = pod.spec.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason, message: problem } },
    }));
    await api('PATCH', `${path}/status`, { status: { containerStatuses } }, mergePatch);
  }
}

async function provisionClaims(): Promise<void> {
  const [claims, classes] = await Promise.all([
    api<List<Claim>>('GET', '/api/v1/persistentvolumeclaims'),
    api<List<{ metadata: ObjectMeta; provisioner: string }>>('GET', '/apis/storage.k8s.io/v1/storageclasses'),
  ]);
  const ours = new Set(classes.items.filter((c) => c.provisioner === PROVISIONER).map((c) => c.metadata.name));
  for (const claim of claims.items) {
    if (claim.status?.phase !== 'Pending' || claim.spec.volumeName || !ours.has(claim.spec.storageClassName ?? '')) continue;
    const { namespace, name, uid } = claim.metadata;
    // Writable by whatever user the pod runs as (the databases run as
    // their own), as local-path's folders are.
    const path = join(volumes, `${namespace}_${name}_${uid}`);
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777);
    await api('POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `pv-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec.resources.requests.storage },
        accessModes: claim.spec.accessModes,
        storageClassName: claim.spec.storageClassName,
        persistentVolumeReclaimPolicy: 'Delete',
        claimRef: { namespace, name, uid },
        hostPath: { path, type: 'Directory' },
      },
    }).catch((error: Error) => {
      if (!error.message.includes(' 409 ')) throw error;
    });
  }
}

/** A released volume goes, folder and all, as its reclaim policy (Delete) says and a provisioner does. */
async function reclaimVolumes(): Promise<void> {
  const { items } = await api<List<PersistentVolume>>('GET', '/api/v1/persistentvolumes');
  for (const volume of items) {
    const { annotations = {}, name } = volume.metadata;
    if (annotations['pv.kubernetes.io/provisioned-by'] !== PROVISIONER || volume.status?.phase !== 'Released') continue;
    rmSync(volume.spec.hostPath.path, { recursive: true, force: true });
    await api('DELETE', `/api/v1/persistentvolumes/${name}`).catch((error: Error) => {
      if (!error.message.includes(' 404 ')) throw error;
    });
  }
}

async function loop(): Promise<void> {
  for (;;) {
    try {
      await checkPods();
      await provisionClaims();
      await reclaimVolumes();
    } catch (error) {
      // The API server may be restarting or a pod gone meanwhile; try again next turn.
      console.error(`node-agent: ${(error as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

await loop();

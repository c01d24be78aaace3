import t from 'tap';
import { getJson, kubectl, waitFor } from '../helpers/cluster.ts';
import { realImages, realNamespace } from '../helpers/real-node.ts';

// The kubelet rule the harness's node agent imitates on the kwok nodes
// (hack/cluster/node-agent.ts), checked against a real kubelet: a
// container whose Secret key is missing is not started and the pod stays
// out of Ready, in CreateContainerConfigError, until the key appears.

t.setTimeout(300_000);
const ns = await realNamespace(t, 'real-kubelet');
const images = realImages();

interface Pod {
  status?: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}
const pod = () => getJson<Pod>(['pod', 'reads-a-secret', '-n', ns]);
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

t.test('a pod whose Secret key is missing stays out of Ready until the key exists', async (t) => {
  await kubectl(['create', 'secret', 'generic', 'credentials', '-n', ns, '--from-literal=OTHER=1']);
  await kubectl(
    ['create', '-n', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'reads-a-secret' },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'redis',
            image: `${images.redis.repository}:${images.redis.tag}`,
            imagePullPolicy: 'Never',
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'credentials', key: 'PASSWORD' } } }],
            readinessProbe: { exec: { command: ['redis-cli', 'ping'] }, periodSeconds: 1 },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    }),
  );
  const waiting = await waitFor('the kubelet to refuse the container', async () => {
    const state = (await pod()).status?.containerStatuses?.[0]?.state?.waiting;
    return state?.reason === 'CreateContainerConfigError' ? state : undefined;
  });
  t.match(waiting.message, /couldn't find key PASSWORD in Secret/, `the kubelet says why: ${waiting.message}`);
  // Still refused a while later: the kubelet retries, it does not give up or start it anyway.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  t.notOk(ready(await pod()), 'the pod is not Ready');

  await kubectl(['patch', 'secret', 'credentials', '-n', ns, '--type=merge', '-p', '{"stringData":{"PASSWORD":"now-here"}}']);
  await waitFor('the pod Ready once the key exists', async () => (ready(await pod()) ? true : undefined));
  t.pass('the kubelet started the container once the key appeared');
});

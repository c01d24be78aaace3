// Where a worker's CPU went: the self time of a V8 CPU profile (node
// --cpu-prof), grouped by the package or part of Node the code belongs to.
// Usage: node service/bench/profile-summary.ts FILE.cpuprofile...
import { readFileSync } from 'node:fs';

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** The package (node_modules/NAME), the service's own module, Node's internals, or V8's pseudo-frames. */
function partOf(frame: { functionName: string; url: string }): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return pkg[1] as string;
  const own = /service\/(?:dist|src)\/(.+?)\.[jt]s$/.exec(frame.url);
  if (own) return `service: ${own[1]}`;
  if (frame.functionName.startsWith('(')) return frame.functionName;
  if (frame.url.startsWith('node:')) return `node: ${frame.url.slice(5).split('/')[0]}`;
  return `native: ${frame.functionName || 'anonymous'}`;
}

const totals = new Map<string, number>();
let all = 0;
for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const part = new Map(profile.nodes.map((n) => [n.id, partOf(n.callFrame)]));
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    const name = part.get(id) ?? '(unknown)';
    totals.set(name, (totals.get(name) ?? 0) + micros);
    all += micros;
  });
}
const idle = totals.get('(idle)') ?? 0;
console.log(`| part | share of busy time |\n| --- | --- |`);
for (const [name, micros] of [...totals].sort(([, a], [, b]) => b - a).slice(0, 20)) {
  if (name !== '(idle)') console.log(`| ${name} | ${((micros / (all - idle)) * 100).toFixed(1)}% |`);
}
console.log(`\nbusy ${((all - idle) / 1e6).toFixed(1)} s of ${(all / 1e6).toFixed(1)} s sampled`);

import { readFileSync } from 'node:fs';

// A reader for the Dockerfile subset this project uses, so a test can replay
// the image's build steps without a container engine.

export type Instruction =
  | { op: 'FROM'; image: string; stage?: string }
  | { op: 'WORKDIR'; path: string }
  | { op: 'COPY'; from?: string; sources: string[]; destination: string }
  | { op: 'RUN'; command: string }
  | { op: 'ENV'; values: Record<string, string> }
  | { op: 'OTHER'; keyword: string; rest: string };

export interface Stage {
  name?: string;
  image: string;
  instructions: Instruction[];
}

/** Joins continuation lines, drops comments, and splits the file into stages. */
export function readDockerfile(path: string): { args: Record<string, string>; stages: Stage[] } {
  const logical = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const expand = (text: string) => text.replace(/\$\{(\w+)\}/g, (whole, name: string) => args[name] ?? whole);
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const current = stages.at(-1);
    switch (keyword.toUpperCase()) {
      case 'ARG': {
        const [name = '', value = ''] = rest.split('=');
        if (value !== '' || !(name in args)) args[name] = value;
        break;
      }
      case 'FROM': {
        const [image = '', , stage] = rest.split(/\s+/);
        stages.push({ image: expand(image), ...(stage ? { name: stage } : {}), instructions: [] });
        break;
      }
      case 'WORKDIR':
        current?.instructions.push({ op: 'WORKDIR', path: rest });
        break;
      case 'COPY': {
        const words = rest.split(/\s+/);
        const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
        const destination = words.pop() ?? '';
        current?.instructions.push({ op: 'COPY', ...(from ? { from } : {}), sources: words, destination });
        break;
      }
      case 'RUN':
        current?.instructions.push({ op: 'RUN', command: rest });
        break;
      case 'ENV': {
        const values: Record<string, string> = {};
        for (const [, name = '', value = ''] of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) values[name] = expand(value.replace(/^"|"$/g, ''));
        current?.instructions.push({ op: 'ENV', values });
        break;
      }
      default:
        current?.instructions.push({ op: 'OTHER', keyword: keyword.toUpperCase(), rest });
    }
  }
  return { args, stages };
}

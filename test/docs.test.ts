import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { ROOT } from './helpers/helm.ts';

// The guides must stay true: every repository file and script they name
// exists, every chart value they name is in values.yaml, and every script
// option they use is one the script accepts.

const guides = readdirSync(join(ROOT, 'docs/guides')).filter((f) => f.endsWith('.md'));
const documents = [
  ...guides.map((g) => `docs/guides/${g}`),
  'docs/architecture.md',
  'docs/README.md',
  'README.md',
  'charts/mail-worker/README.md',
];
const values = parse(readFileSync(join(ROOT, 'charts/mail-worker/values.yaml'), 'utf8')) as Record<string, unknown>;

function hasValue(path: string): boolean {
  let node: unknown = values;
  for (const key of path.split('.')) {
    // An empty map in values.yaml (web.autoscaling.behavior, podAnnotations)
    // is free-form: any key beneath it is the user's to set.
    if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.keys(node).length === 0) return true;
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

const VALUE_ROOTS = new Set(Object.keys(values));

t.test('every guide has the sections a newcomer needs', async (t) => {
  t.ok(guides.length >= 8, `${guides.length} guides`);
  for (const guide of guides) {
    const text = readFileSync(join(ROOT, 'docs/guides', guide), 'utf8');
    for (const section of [
      'Goal',
      'Toggles and values',
      'Commands',
      'Expected output (example)',
      'What to watch',
      'How to break it',
      'How to roll back',
      'Cleanup',
      'Known pitfalls',
    ]) {
      t.match(text, new RegExp(`^## ${section.replace(/[()]/g, '\\$&')}$`, 'm'), `${guide}: ${section}`);
    }
    t.match(text, /^```sh$/m, `${guide}: has runnable steps for scripts/scenario.sh`);
  }
});

/** What a reader copies: inline code and ```sh blocks (not example output). */
function codeOf(text: string): string {
  const inline = [...text.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return [...inline, ...blocks].join('\n');
}

t.test('files, scripts and values named in the docs exist', async (t) => {
  for (const document of documents) {
    const text = codeOf(readFileSync(join(ROOT, document), 'utf8'));
    const paths = new Set(
      [...text.matchAll(/(?<![\w/.-])((?:scripts|charts|environments|argocd|docs|service|test)\/[\w./-]*[\w/])/g)].map(
        (m) => m[1] as string,
      ),
    );
    for (const path of paths) {
      if (path.includes('*') || path.includes('<')) continue;
      t.ok(
        existsSync(join(ROOT, path)) || existsSync(join(ROOT, 'docs', path)) || existsSync(join(ROOT, 'docs/guides', path)),
        `${document}: ${path} exists`,
      );
    }
    const valuePaths = new Set([...text.matchAll(/(?:^|[\s,])([a-zA-Z]\w*(?:\.[a-zA-Z]\w*)+)(?=[=:\s,]|$)/gm)].map((m) => m[1] as string));
    for (const path of valuePaths) {
      if (!VALUE_ROOTS.has(path.split('.')[0] as string)) continue;
      t.ok(hasValue(path), `${document}: chart value ${path} exists`);
    }
  }
});

t.test('script options used in the docs are accepted by the scripts', async (t) => {
  for (const document of documents) {
    const text = readFileSync(join(ROOT, document), 'utf8');
    // Options after a lone `--` belong to Helm, not to the script.
    for (const [, script, args] of codeOf(text).matchAll(/scripts\/([\w-]+\.sh)((?: +(?!-- )--?[\w-]+(?: +[^\s-`][^\s`]*)?)*)/g)) {
      const source = readFileSync(join(ROOT, 'scripts', script!), 'utf8');
      for (const [option] of (args ?? '').matchAll(/--[\w-]+/g)) {
        t.ok(
          source.includes(`${option})`) || source.includes(`${option} |`) || source.includes(`| ${option})`),
          `${document}: scripts/${script} accepts ${option}`,
        );
      }
    }
  }
});

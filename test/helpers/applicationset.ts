import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Expands an ApplicationSet's git directory generator the way Argo CD does,
// for the subset this repository uses: `dir/*` paths, goTemplate with
// missingkey=error, `{{ .path.x }}` values and `{{- if ne .path.x "v" }}` in
// templatePatch.

export interface PathParams {
  path: { path: string; basename: string; basenameNormalized: string; segments: string[] };
}

/** Directories matching `pattern` (one `*` level), as the generator lists them. */
export function directoryParams(root: string, pattern: string): PathParams[] {
  const [parent, star] = [pattern.slice(0, pattern.lastIndexOf('/')), pattern.slice(pattern.lastIndexOf('/') + 1)];
  if (star !== '*') throw new Error(`only "dir/*" patterns are supported, not ${pattern}`);
  return readdirSync(join(root, parent))
    .filter((name) => statSync(join(root, parent, name)).isDirectory() && !name.startsWith('.'))
    .sort()
    .map((name) => {
      const path = `${parent}/${name}`;
      return {
        path: { path, basename: name, basenameNormalized: name.toLowerCase().replace(/[^a-z0-9-]/g, '-'), segments: path.split('/') },
      };
    });
}

function lookup(params: object, expression: string): string {
  let value: unknown = params;
  for (const key of expression.replace(/^\./, '').split('.')) {
    if (typeof value !== 'object' || value === null || !(key in value))
      throw new Error(`map has no entry for key "${key}" (missingkey=error): ${expression}`);
    value = (value as Record<string, unknown>)[key];
  }
  return String(value);
}

/** Renders `{{ .a.b }}` and `{{- if ne .a.b "v" }} … {{- end }}` against params. */
export function renderTemplate(text: string, params: object): string {
  const conditionals = text.replace(
    /\{\{-?\s*if\s+(eq|ne)\s+(\.[\w.]+)\s+"([^"]*)"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*-?\}\}/g,
    (_whole, op: string, expression: string, literal: string, body: string) =>
      (lookup(params, expression) === literal) === (op === 'eq') ? body : '',
  );
  const rendered = conditionals.replace(/\{\{-?\s*(\.[\w.]+)\s*-?\}\}/g, (_whole, expression: string) => lookup(params, expression));
  const leftover = /\{\{.*?\}\}/.exec(rendered);
  if (leftover) throw new Error(`template construct not understood: ${leftover[0]}`);
  return rendered;
}

/** Renders every string in a structure. */
export function renderStrings<T>(value: T, params: object): T {
  if (typeof value === 'string') return renderTemplate(value, params) as T;
  if (Array.isArray(value)) return value.map((v) => renderStrings(v, params)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderStrings(v, params)])) as T;
  return value;
}

/** Merges a patch into a template, objects key by key (what templatePatch does for maps). */
export function merge(base: unknown, patch: unknown): unknown {
  if (typeof base !== 'object' || base === null || typeof patch !== 'object' || patch === null || Array.isArray(patch))
    return patch ?? base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) out[key] = merge(out[key], value);
  return out;
}

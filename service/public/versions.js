// Polls /api/version and shows which version answered the last 100 polls,
// how many of each version's answers failed and how slow its slowest were:
// during a canary the share moves with the weights (like rollouts-demo's
// grid), and a failing canary turns red before the analysis aborts it.
'use strict';

const WINDOW = 100;
const answers = [];
// Okabe and Ito's colour-blind-safe palette, without its vermillion (errors
// are red): each version keeps the colour of its order of appearance, so two
// versions never share one, as hashing names to hues could make them.
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#6b4c9a', '#8c6d1f', '#000000'];
const colours = new Map();

function colour(version) {
  if (!colours.has(version)) colours.set(version, PALETTE[colours.size % PALETTE.length]);
  return colours.get(version);
}

/** The 95th percentile of a list of numbers (nearest rank). */
function p95(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function render() {
  const grid = document.querySelector('.version-grid');
  const table = document.querySelector('.version-shares');
  grid.replaceChildren(
    ...answers.map((a) => {
      const span = document.createElement('span');
      // A failed answer is red, ringed in its version's colour (style.css).
      span.style.color = colour(a.version);
      if (!a.ok) span.className = 'error';
      span.title = `${a.version} (${a.pod}) ${a.status} · ${Math.round(a.ms)} ms`;
      return span;
    }),
  );
  const byVersion = new Map();
  for (const a of answers) {
    const entry = byVersion.get(a.version) ?? { count: 0, errors: 0, times: [], pods: new Set() };
    entry.count++;
    if (!a.ok) entry.errors++;
    entry.times.push(a.ms);
    entry.pods.add(a.pod);
    byVersion.set(a.version, entry);
  }
  const percent = (n, of) => `${Math.round((n * 100) / of)}%`;
  table.tBodies[0].replaceChildren(
    ...[...byVersion].map(([version, { count, errors, times, pods }]) => {
      const row = document.createElement('tr');
      row.dataset.version = version;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colour(version);
      const name = cell(` ${version}`);
      name.prepend(swatch);
      const errorShare = cell(percent(errors, count));
      if (errors > 0) errorShare.className = 'bad';
      row.append(name, cell(percent(count, answers.length)), errorShare, cell(`${Math.round(p95(times))} ms`), cell([...pods].join(', ')));
      return row;
    }),
  );
}

async function poll() {
  const started = performance.now();
  try {
    const response = await fetch('/api/version', { cache: 'no-store' });
    // An error answer names its version and pod in headers (a 500 the
    // fault injection gave, for one); a proxy's own error names neither.
    const body = response.ok ? await response.json() : {};
    answers.push({
      version: body.version ?? response.headers.get('x-mail-worker-version') ?? '?',
      pod: body.pod ?? response.headers.get('x-mail-worker-pod') ?? '?',
      ok: response.ok,
      status: response.status,
      ms: performance.now() - started,
    });
  } catch {
    answers.push({ version: '?', pod: '?', ok: false, status: 'no answer', ms: performance.now() - started });
  } finally {
    if (answers.length > WINDOW) answers.shift();
    render();
    setTimeout(poll, 200);
  }
}

document.addEventListener('DOMContentLoaded', () => void poll());

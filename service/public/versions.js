// Polls /api/version and shows which version answered the last 100 polls:
// during a canary the share moves with the weights (like rollouts-demo's grid).
'use strict';

const WINDOW = 100;
const answers = [];

function colour(version) {
  let hash = 0;
  for (const c of version) hash = (hash * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${hash}, 65%, 38%)`;
}

function render() {
  const grid = document.querySelector('.version-grid');
  const body = document.querySelector('.version-shares tbody');
  grid.replaceChildren(
    ...answers.map((a) => {
      const cell = document.createElement('span');
      cell.style.background = colour(a.version);
      cell.title = `${a.version} (${a.pod})`;
      return cell;
    }),
  );
  const byVersion = new Map();
  for (const a of answers) {
    const entry = byVersion.get(a.version) ?? { count: 0, pods: new Set() };
    entry.count++;
    entry.pods.add(a.pod);
    byVersion.set(a.version, entry);
  }
  body.replaceChildren(
    ...[...byVersion].map(([version, { count, pods }]) => {
      const row = document.createElement('tr');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colour(version);
      const name = document.createElement('td');
      name.append(swatch, ` ${version}`);
      const share = document.createElement('td');
      share.textContent = `${Math.round((count * 100) / answers.length)}%`;
      const podCell = document.createElement('td');
      podCell.textContent = [...pods].join(', ');
      row.append(name, share, podCell);
      return row;
    }),
  );
}

async function poll() {
  try {
    const response = await fetch('/api/version', { cache: 'no-store' });
    if (response.ok) {
      answers.push(await response.json());
      if (answers.length > WINDOW) answers.shift();
      render();
    }
  } finally {
    setTimeout(poll, 200);
  }
}

document.addEventListener('DOMContentLoaded', () => void poll());

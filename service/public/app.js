// Progressive enhancement: the pages work without this file; with it, run
// progress and the live panel update by themselves and CSV uploads show
// their progress.
'use strict';

function setProgress(el, run, t) {
  const done = run.sent + run.failed;
  const bar = el.querySelector('.bar');
  bar.setAttribute('aria-valuenow', String(done));
  bar.querySelector('.sent').style.width = `${run.total ? (run.sent * 100) / run.total : 0}%`;
  bar.querySelector('.failed').style.width = `${run.total ? (run.failed * 100) / run.total : 0}%`;
  const fields = {
    percent: run.total ? Math.floor((done * 100) / run.total) : 100,
    sent: run.sent,
    failed: run.failed,
    total: run.total,
    retried: run.retried,
  };
  for (const [name, value] of Object.entries(fields)) el.querySelector(`[data-field="${name}"]`).textContent = String(value);
  const noWorkers = el.querySelector('[data-field="no-workers"]');
  if (noWorkers) noWorkers.hidden = !(run.workers === 0 && !run.status.startsWith('completed'));
  if (el.dataset.status !== run.status) {
    el.dataset.status = run.status;
    el.querySelector('[data-field="status"]').textContent = t[run.status] ?? run.status;
  }
}

async function pollRuns() {
  const bars = [...document.querySelectorAll('.progress[data-run]')];
  const active = bars.filter((el) => !el.dataset.status.startsWith('completed'));
  if (active.length === 0) return;
  const labels = JSON.parse(document.documentElement.dataset.statusLabels ?? '{}');
  try {
    await Promise.all(
      active.map(async (el) => {
        const response = await fetch(`/api/runs/${el.dataset.run}`, { headers: { accept: 'application/json' } });
        if (response.ok) setProgress(el, await response.json(), labels);
      }),
    );
  } finally {
    setTimeout(pollRuns, 1000);
  }
}

function uploadWithProgress(form) {
  const box = form.querySelector('.upload-progress');
  const bar = box.querySelector('.bar');
  const status = box.querySelector('.upload-status');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open('POST', form.dataset.api);
    request.setRequestHeader('accept', 'application/json');
    box.hidden = false;
    request.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded * 100) / e.total);
      bar.setAttribute('aria-valuenow', String(percent));
      bar.querySelector('.sent').style.width = `${percent}%`;
      status.textContent = form.dataset.uploading.replace('{percent}', String(percent));
    });
    request.upload.addEventListener('load', () => (status.textContent = form.dataset.processing));
    request.addEventListener('load', () => {
      // The server renders the result with the recipients table: reload it.
      if (request.status === 200) {
        const body = JSON.parse(request.responseText);
        sessionStorage.setItem('importResult', JSON.stringify(body));
        location.assign('/?imported=1');
      } else {
        let message = request.statusText;
        try {
          message = JSON.parse(request.responseText).error ?? message;
        } catch {
          // not JSON: keep the status text
        }
        status.textContent = message;
        status.setAttribute('role', 'alert');
      }
    });
    request.send(new FormData(form));
  });
}

function showStoredImportResult() {
  const stored = sessionStorage.getItem('importResult');
  const box = document.querySelector('.import-result');
  if (!stored || !box || !location.search.includes('imported=1')) return;
  sessionStorage.removeItem('importResult');
  const result = JSON.parse(stored);
  const template = box.dataset.summary;
  const p = document.createElement('p');
  p.textContent = template
    .replace('{imported}', result.imported)
    .replace('{duplicates}', result.duplicates)
    .replace('{invalid}', result.invalidCount);
  box.append(p);
  if (result.invalid.length > 0) {
    const table = document.createElement('table');
    const caption = table.createCaption();
    caption.textContent = box.dataset.invalidCaption ?? '';
    const head = table.createTHead().insertRow();
    for (const label of [box.dataset.lineLabel, box.dataset.reasonLabel]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label ?? '';
      head.append(th);
    }
    // The reasons in the page's language: each problem's text, filled with its parameters.
    const texts = JSON.parse(box.dataset.problems ?? '{}');
    const say = (problem) =>
      (texts[problem.code] ?? problem.code).replace(/\{(\w+)\}/g, (placeholder, name) => String(problem.params[name] ?? placeholder));
    const body = table.createTBody();
    for (const row of result.invalid) {
      const tr = body.insertRow();
      tr.insertCell().textContent = String(row.line);
      tr.insertCell().textContent = row.problems.map(say).join('; ');
    }
    box.append(table);
  }
}

/** The custom-count form sends the run options set in the buttons' form. */
function mirrorRunOptions() {
  for (const mirror of document.querySelectorAll('[data-mirror]')) {
    const source = document.getElementById(mirror.dataset.mirror);
    source?.addEventListener('input', () => {
      mirror.value = source.value;
    });
  }
}

/** The live panel: GET /system's fresh copy every two seconds, while the page is in view. */
async function pollSystem() {
  const panel = document.getElementById('system');
  if (!panel) return;
  try {
    if (!document.hidden) {
      const response = await fetch('/system', { cache: 'no-store' });
      if (response.ok) panel.outerHTML = await response.text();
    }
  } finally {
    setTimeout(pollSystem, 2000);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('.import-form');
  if (form) uploadWithProgress(form);
  showStoredImportResult();
  mirrorRunOptions();
  void pollRuns();
  void pollSystem();
});

// `helm test`: the release really serves. Run by templates/tests/smoke-test.yaml
// with the app's image (node --input-type=module -e); test/image.test.ts runs
// it against the real image too. WEB_URL and WORKER_URL are the Services.
const checks = [
  ['the web is ready (database and Redis reachable)', `${process.env.WEB_URL}/readyz`],
  ['the JSON API answers', `${process.env.WEB_URL}/api/recipients?limit=1`],
  ['the worker is alive', `${process.env.WORKER_URL}/healthz`],
];
let failed = 0;
for (const [what, url] of checks) {
  const answer = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((error) => error);
  const ok = answer instanceof Response && answer.ok;
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}: GET ${url} → ${answer instanceof Response ? answer.status : answer.message}`);
  if (!ok) failed++;
}
process.exit(failed ? 1 : 0);

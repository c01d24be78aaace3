import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startMailpit } from '../../test/helpers/mailpit.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { spawnService } from '../../test/helpers/process.ts';
import { startRedis } from '../../test/helpers/servers.ts';

// Mails as the chart delivers them: the service (one process, SQLite, a real
// Redis) sends through SMTP to the real Mailpit, and Mailpit's API reads back
// what arrived. Names that need encoding must arrive intact in the To header
// and the body, whatever composes the mail.

t.test('recipient names arrive intact in Mailpit, in the To header and the body', async (t) => {
  const mailpit = await startMailpit(t);
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const data = mkdtempSync(join(tmpdir(), 'mw-mailpit-app-'));
  const service = await spawnService(t, 'all', {
    DATABASE_URL: `file:${join(data, 'mail-worker.sqlite')}`,
    FLAGS_FILE: join(data, 'flags.json'),
    REDIS_URL: redis.url,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(mailpit.smtpPort),
  });
  // (A name that merely looks like an encoded word is checked with mailparser
  // in service/test/compose.test.ts: Mailpit decodes such text a second time after
  // decoding the encoded word the composer wraps it in.)
  const names = ['山田 太郎', 'Brien, Pat "PJ" O’'];
  for (const [i, name] of names.entries()) {
    const created = await fetch(`${service.url}/api/recipients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, email: `person-${i}@example.test` }),
    });
    t.equal(created.status, 201, `recipient ${name} stored`);
  }
  const run = await fetch(`${service.url}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: names.length }),
  });
  t.equal(run.status, 202, 'a send run to every recipient');

  const messages = await waitFor('every mail in Mailpit', async () => {
    const received = await mailpit.messages();
    return received.length === names.length ? received : undefined;
  });
  for (const [i, name] of names.entries()) {
    const message = messages.find((m) => m.To[0]?.Address === `person-${i}@example.test`);
    t.equal(message?.To[0]?.Name, name, `To header: ${name}`);
    const full = await mailpit.message(message!.ID);
    t.ok(full.Text.includes(`Hello ${name},`) && full.Text.includes(`${name} 様`), `text body names ${name} in English and Japanese`);
  }
});

import { simpleParser } from 'mailparser';
import t from 'tap';
import { composeMail } from '../src/mail/compose.ts';
import type { Mailbox } from '../src/mail/mailbox.ts';
import { buildMessage } from '../src/mail/message.ts';

const from: Mailbox = { name: 'Mail Worker', address: 'mail-worker@example.test' };
const sentAt = new Date('2026-11-30T19:04:05.678Z');

async function compose(to: Mailbox) {
  const message = buildMessage({ runId: 7, recipientId: 42, name: to.name ?? '', email: to.address, failureRate: 0 }, sentAt);
  const raw = composeMail(from, to, message, sentAt);
  return { raw: raw.toString('utf8'), message, parsed: await simpleParser(raw) };
}

t.test('a real MIME parser reads back every part of the test mail', async (t) => {
  const { raw, message, parsed } = await compose({ name: 'Ada Lovelace', address: 'ada@example.test' });
  t.same(parsed.from?.value, [{ name: 'Mail Worker', address: 'mail-worker@example.test' }]);
  t.same(Array.isArray(parsed.to) ? [] : parsed.to?.value, [{ name: 'Ada Lovelace', address: 'ada@example.test' }]);
  t.equal(parsed.subject, message.subject, 'subject with Japanese text survives the encoding');
  t.equal(parsed.text?.trim(), message.text);
  t.equal((parsed.html || '').trim(), message.html);
  t.equal(parsed.date?.toISOString(), '2026-11-30T19:04:05.000Z');
  t.match(parsed.messageId, /^<[0-9a-f-]{36}@example\.test>$/);
  t.ok(/^[\t\r\n\x20-\x7e]*$/.test(raw), 'the message itself is 7-bit printable ASCII');
  t.ok(raw.endsWith('--\r\n'), 'the closing boundary ends the message');
  t.notOk(/(^|[^\r])\n/.test(raw), 'every line ends in CRLF');
});

t.test('display names are quoted or encoded, never injected as header text', async (t) => {
  const names = [
    'Doe, Jane "JD"', // specials: quoted
    'back\\slash',
    '山田 太郎',
    '長い名前'.repeat(50), // 200 characters: several encoded words on folded lines
    '=?UTF-8?B?ZXZpbA==?= Mallory', // looks like an encoded word already
  ];
  for (const name of names) {
    const { raw, parsed } = await compose({ name, address: 'someone@example.test' });
    const to = Array.isArray(parsed.to) ? undefined : parsed.to?.value[0];
    t.same(to, { name, address: 'someone@example.test' }, JSON.stringify(name));
    const headerLines = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
    t.ok(
      headerLines.every((line) => line.length <= 998),
      'no header line over the hard limit of 998',
    );
    t.equal(headerLines.filter((line) => line.startsWith('To:')).length, 1, 'one To header');
  }
});

t.test('a bare address needs no display name', async (t) => {
  const { parsed } = await compose({ address: 'bare@example.test' });
  t.same(Array.isArray(parsed.to) ? [] : parsed.to?.value, [{ name: '', address: 'bare@example.test' }]);
});

t.test('the sending worker names its pod and version in two headers, encoded where they are not plain ASCII', async (t) => {
  const message = buildMessage({ runId: 7, recipientId: 42, name: 'Ada', email: 'ada@example.test', failureRate: 0 }, sentAt);
  const to = { name: 'Ada', address: 'ada@example.test' };
  const plain = await simpleParser(composeMail(from, to, message, sentAt, { pod: 'mail-worker-worker-7d9c-x2k4q', version: 'v2' }));
  t.equal(plain.headers.get('x-mail-worker-pod'), 'mail-worker-worker-7d9c-x2k4q');
  t.equal(plain.headers.get('x-mail-worker-version'), 'v2');

  // APP_VERSION is whatever a person sets: a line break must not become a header.
  const raw = composeMail(from, to, message, sentAt, { pod: 'host', version: 'v3\r\nBcc: mallory@example.test ' + '版' });
  const hostile = await simpleParser(raw);
  t.match(hostile.headers.get('x-mail-worker-version'), /^=\?UTF-8\?B\?\S+\?= =\?UTF-8\?B\?\S+\?=$/, 'encoded words, not text');
  t.notOk(hostile.headers.has('bcc'), 'no header injected');
  t.ok(/^[\t\r\n\x20-\x7e]*$/.test(raw.toString('utf8')), 'still 7-bit ASCII');
  t.notOk((await compose(to)).parsed.headers.has('x-mail-worker-pod'), 'no sender, no headers');
});

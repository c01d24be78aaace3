import t from 'tap';
import { createTransport } from '../src/mail/transport.ts';
import { isPermanentFailure } from '../src/queue/delivery-policy.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { startSmtpSink } from '../../test/helpers/smtp.ts';

const from = 'mail-worker@example.test';
// A line that starts with a dot must arrive as written (SMTP escapes it on the wire).
const raw = (to: string) => Buffer.from(`From: <${from}>\r\nTo: <${to}>\r\nSubject: pooled\r\n\r\nhello\r\n.a dotted line\r\n`);

t.test('mails over at most maxConnections connections, each reused, every mail as composed', async (t) => {
  const sink = await startSmtpSink();
  t.teardown(() => sink.stop());
  const transport = createTransport({ host: '127.0.0.1', port: sink.port, secure: false }, 3);
  t.teardown(() => transport.close());

  const to = Array.from({ length: 30 }, (_, i) => `r${i}@example.test`);
  await Promise.all(to.map((address) => transport.send({ from, to: [address] }, raw(address))));
  t.equal(sink.mails.length, 30);
  t.equal(sink.connectionsOpened(), 3, 'three connections for thirty mails sent at once');
  const first = sink.mails.find((m) => m.to[0] === 'r0@example.test');
  t.equal(first?.raw, raw('r0@example.test').toString(), 'the message arrives byte for byte');
  t.equal(first?.from, from);

  await transport.send({ from, to: ['later@example.test'] }, raw('later@example.test'));
  t.equal(sink.connectionsOpened(), 3, 'a later mail takes a connection at rest');
});

t.test('a refused recipient fails that mail for good; the connection goes on with the next', async (t) => {
  const sink = await startSmtpSink();
  t.teardown(() => sink.stop());
  sink.rejectPermanently.add('gone@example.test');
  const transport = createTransport({ host: '127.0.0.1', port: sink.port, secure: false }, 1);
  t.teardown(() => transport.close());

  const refused = await transport.send({ from, to: ['gone@example.test'] }, raw('gone@example.test')).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.equal((refused as { responseCode?: number }).responseCode, 550, 'the server answer reaches the caller');
  t.ok(isPermanentFailure(refused), 'and counts as permanent: no retry');
  await transport.send({ from, to: ['here@example.test'] }, raw('here@example.test'));
  t.same(
    sink.mails.map((m) => m.to),
    [['here@example.test']],
  );
  t.equal(sink.connectionsOpened(), 1, 'the same connection, reset');
});

t.test('connections the server dropped are replaced; a server away fails the send and the pool recovers', async (t) => {
  const sink = await startSmtpSink();
  t.teardown(() => sink.stop());
  const transport = createTransport({ host: '127.0.0.1', port: sink.port, secure: false }, 2);
  t.teardown(() => transport.close());
  await Promise.all(['a', 'b'].map((n) => transport.send({ from, to: [`${n}@example.test`] }, raw(`${n}@example.test`))));

  await sink.stop();
  const away = await transport.send({ from, to: ['c@example.test'] }, raw('c@example.test')).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(away instanceof Error, 'with the server down the send fails');
  t.notOk(isPermanentFailure(away), 'worth a retry');

  await sink.start();
  const after = ['d', 'e', 'f'].map((n) => `${n}@example.test`);
  await Promise.all(after.map((address) => transport.send({ from, to: [address] }, raw(address))));
  t.same(
    sink.mails
      .slice(2)
      .map((m) => m.to[0])
      .sort(),
    after,
    'every mail after the server came back was sent',
  );
});

t.test('a closed transport refuses sends', async (t) => {
  const transport = createTransport({ host: '127.0.0.1', port: await freePort(), secure: false }, 1);
  transport.close();
  await t.rejects(transport.send({ from, to: ['x@example.test'] }, raw('x@example.test')), /closed/);
});

import t from 'tap';
import { type MessageKey, pickLocale, translator } from '../src/web/i18n.ts';

t.test('texts are filled in and translated', async (t) => {
  const en = translator('en');
  const ja = translator('ja');
  t.equal(en('run', { id: 7 }), 'Run #7');
  t.match(ja('run', { id: 7 }), /7/);
  t.not(ja('run', { id: 7 }), en('run', { id: 7 }), 'Japanese differs from English');
  t.equal(en('sent'), 'Sent', 'a text without placeholders');
  t.match(en('imported', { imported: 3, duplicates: 2, invalid: 1 }), /3.*2.*1/s, 'several placeholders');
  t.equal(en('run'), 'Run #{id}', 'a missing value leaves its placeholder visible');
  // Templates build keys the type check cannot see; an unknown one shows as itself.
  t.equal(en('no.such.key' as MessageKey), 'no.such.key', 'an unknown key is shown as the key');
  t.equal(en('x {y}' as MessageKey, { y: 1 }), 'x 1', 'an unknown key is filled like a text');
  // @ts-expect-error a mistyped key does not compile (the test suite's type check fails if it did)
  t.equal(en('sennt'), 'sennt');
});

t.test('the language comes from the cookie, else the negotiated one, else English', async (t) => {
  t.equal(pickLocale('ja', 'en'), 'ja');
  t.equal(pickLocale(undefined, 'ja'), 'ja');
  t.equal(pickLocale('xx', false), 'en');
  t.equal(pickLocale(undefined, 'fr'), 'en');
});

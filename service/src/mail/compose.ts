import { randomUUID } from 'node:crypto';
import { encodeWord } from 'nodemailer/lib/mime-funcs';
import type { WorkerIdentity } from '../runs/store.ts';
import type { Mailbox } from './mailbox.ts';
import type { Message } from './message.ts';

// RFC 5322 atext plus spaces: a display name made only of these needs no quoting.
const PLAIN_PHRASE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$/;
// Printable ASCII: a quoted string can carry it.
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * Text beyond printable ASCII as RFC 2047 encoded words (UTF-8, base64) of at
 * most 52 characters, one per folded line: never raw UTF-8 or a line break.
 */
function encodedWords(text: string): string {
  return encodeWord(text, 'B', 52).split(' ').join('\r\n ');
}

/**
 * A display name as a header phrase: as is, quoted, or encoded. Text that
 * merely looks like an encoded word ("=?") is encoded too, or readers would
 * decode it.
 */
function phrase(name: string): string {
  if (name.includes('=?')) return encodedWords(name);
  if (PLAIN_PHRASE.test(name)) return name;
  if (PRINTABLE.test(name)) return `"${name.replace(/[\\"]/g, '\\$&')}"`;
  return encodedWords(name);
}

function formatMailbox(mailbox: Mailbox): string {
  return mailbox.name ? `${phrase(mailbox.name)} <${mailbox.address}>` : `<${mailbox.address}>`;
}

/** Base64 in lines of 76 characters, as MIME asks. */
function base64Lines(text: string): string {
  const encoded = Buffer.from(text, 'utf8').toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  return lines.join('\r\n');
}

/** Unstructured header text: printable ASCII as is, anything else encoded (never a line break). */
function headerText(text: string): string {
  return PRINTABLE.test(text) ? text : encodedWords(text);
}

/** RFC 5322 date-time in UTC, e.g. "Mon, 30 Nov 2026 19:00:00 +0000". */
function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * The test mail as one finished RFC 5322 message: multipart/alternative with
 * the text and the HTML version, both UTF-8 in base64. It is written out here
 * rather than built by nodemailer's MailComposer because its general-purpose,
 * streamed build was more than half of a worker's CPU per mail
 * (docs/performance.md); the header encoding is still nodemailer's. The
 * addresses must be valid already (config.ts and the job check see to it).
 */
export function composeMail(from: Mailbox, to: Mailbox, message: Message, sentAt: Date, sender?: WorkerIdentity): Buffer {
  const boundary = `=_mail-worker_${randomUUID()}`;
  const domain = from.address.slice(from.address.lastIndexOf('@') + 1);
  const part = (type: string, body: string) => [
    `--${boundary}`,
    `Content-Type: ${type}; charset=utf-8`,
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(body),
  ];
  const lines = [
    `From: ${formatMailbox(from)}`,
    `To: ${formatMailbox(to)}`,
    `Subject: ${PRINTABLE.test(message.subject) ? message.subject : encodedWords(message.subject)}`,
    `Date: ${rfc5322Date(sentAt)}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    // Which worker sent it, for a learner reading the mail in Mailpit.
    ...(sender ? [`X-Mail-Worker-Pod: ${headerText(sender.pod)}`, `X-Mail-Worker-Version: ${headerText(sender.version)}`] : []),
    '',
    ...part('text/plain', message.text),
    ...part('text/html', message.html),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

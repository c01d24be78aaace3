import addressparser from 'nodemailer/lib/addressparser';

// Addresses and mailboxes: what every part that names a sender or a
// recipient checks against, so the configuration, the recipients and the
// worker agree on what an address is.

export interface Mailbox {
  name?: string;
  address: string;
}

// The grammar browsers use for <input type="email"> (WHATWG HTML "valid email
// address"), so the server accepts exactly what the form's own check accepts.
export const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export function isValidEmail(email: string): boolean {
  return EMAIL.test(email);
}

/** One mailbox, `Name <address>` or a bare address, the address as strict as a recipient's; undefined otherwise. */
export function parseMailbox(text: string): Mailbox | undefined {
  // eslint-disable-next-line no-control-regex -- a line break in a header value is exactly what this refuses
  if (/[\u0000-\u001f\u007f]/.test(text)) return undefined;
  const parsed = addressparser(text, { flatten: true });
  const only = parsed.length === 1 ? parsed[0] : undefined;
  if (only?.address === undefined || !isValidEmail(only.address)) return undefined;
  return only.name === '' ? { address: only.address } : { name: only.name, address: only.address };
}

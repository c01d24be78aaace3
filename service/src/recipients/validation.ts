// Recipient rules shared by the form, the JSON API and the CSV import, so a
// row is judged the same way wherever it comes from.
import { isValidEmail } from '../mail/mailbox.ts';

export const MAX_NAME_LENGTH = 200;
export const MAX_EMAIL_LENGTH = 254;

// eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface RecipientInput {
  name: string;
  email: string;
}

export type Checked = { ok: true; value: RecipientInput } | { ok: false; problems: Record<string, string> };

export function checkRecipient(input: { name?: unknown; email?: unknown }): Checked {
  const problems: Record<string, string> = {};
  const name = typeof input.name === 'string' ? input.name.trim() : undefined;
  const email = typeof input.email === 'string' ? input.email.trim() : undefined;

  if (input.name === undefined || input.name === null) problems.name = 'name is required';
  else if (name === undefined) problems.name = 'name must be a string';
  else if (name === '') problems.name = 'name is empty';
  else if (name.length > MAX_NAME_LENGTH) problems.name = `name is longer than ${MAX_NAME_LENGTH} characters`;
  else if (CONTROL.test(name)) problems.name = 'name contains a line break or another control character';

  if (input.email === undefined || input.email === null) problems.email = 'email is required';
  else if (email === undefined) problems.email = 'email must be a string';
  else if (email === '') problems.email = 'email is empty';
  else if (email.length > MAX_EMAIL_LENGTH) problems.email = `email is longer than ${MAX_EMAIL_LENGTH} characters`;
  else if (!isValidEmail(email)) problems.email = `${JSON.stringify(email.slice(0, 80))} is not a valid email address`;

  if (Object.keys(problems).length > 0 || name === undefined || email === undefined) return { ok: false, problems };
  return { ok: true, value: { name, email } };
}

export function emailKey(email: string): string {
  return email.toLowerCase();
}

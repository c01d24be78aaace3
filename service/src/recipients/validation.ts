// Recipient rules shared by the form, the JSON API and the CSV import, so a
// row is judged the same way wherever it comes from.
import { isValidEmail } from '../mail/mailbox.ts';
import { type Problem, problem } from '../problems.ts';

export const MAX_NAME_LENGTH = 200;
export const MAX_EMAIL_LENGTH = 254;

// eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface RecipientInput {
  name: string;
  email: string;
}

export type Checked = { ok: true; value: RecipientInput } | { ok: false; problems: Partial<Record<'name' | 'email', Problem>> };

export function checkRecipient(input: { name?: unknown; email?: unknown }): Checked {
  const problems: Partial<Record<'name' | 'email', Problem>> = {};
  const name = typeof input.name === 'string' ? input.name.trim() : undefined;
  const email = typeof input.email === 'string' ? input.email.trim() : undefined;

  if (input.name === undefined || input.name === null) problems.name = problem('recipient.name.required');
  else if (name === undefined) problems.name = problem('recipient.name.not_text');
  else if (name === '') problems.name = problem('recipient.name.empty');
  else if (name.length > MAX_NAME_LENGTH) problems.name = problem('recipient.name.too_long', { max: MAX_NAME_LENGTH });
  else if (CONTROL.test(name)) problems.name = problem('recipient.name.control');

  if (input.email === undefined || input.email === null) problems.email = problem('recipient.email.required');
  else if (email === undefined) problems.email = problem('recipient.email.not_text');
  else if (email === '') problems.email = problem('recipient.email.empty');
  else if (email.length > MAX_EMAIL_LENGTH) problems.email = problem('recipient.email.too_long', { max: MAX_EMAIL_LENGTH });
  else if (!isValidEmail(email)) problems.email = problem('recipient.email.invalid', { email: JSON.stringify(email.slice(0, 80)) });

  if (Object.keys(problems).length > 0 || name === undefined || email === undefined) return { ok: false, problems };
  return { ok: true, value: { name, email } };
}

export function emailKey(email: string): string {
  return email.toLowerCase();
}

// Every problem a user's input can have, by a stable code with parameters.
// The text here is English: the JSON API's message beside the code, and the
// dashboard's English; web/i18n.ts translates every code (its type makes a
// missing translation a compile error). Codes are part of the API: rename
// none, add new ones.

export const PROBLEMS = {
  'recipient.name.required': 'name is required',
  'recipient.name.not_text': 'name must be a string',
  'recipient.name.empty': 'name is empty',
  'recipient.name.too_long': 'name is longer than {max} characters',
  'recipient.name.control': 'name contains a line break or another control character',
  'recipient.email.required': 'email is required',
  'recipient.email.not_text': 'email must be a string',
  'recipient.email.empty': 'email is empty',
  'recipient.email.too_long': 'email is longer than {max} characters',
  'recipient.email.invalid': '{email} is not a valid email address',
  'recipient.email.duplicate': 'a recipient with email {email} already exists',
  'run.count.invalid': 'count must be a whole number from 1 to {max}',
  'run.failure_rate.invalid': 'failureRate must be a number from 0 to 1 (0.3 means 30% of attempts fail)',
  'run.relay_latency.invalid': 'relayLatencyMs must be a whole number of milliseconds from 0 to {max}',
  'run.count.too_large': 'count is {count} but only {stored} recipients are stored: add or import more first',
  'run.bulk_send.off': 'bulk sending is switched off (feature flag bulk_send_feature)',
  'run.queue_full':
    'Redis is full (its maxmemory): run #{id} stopped with {enqueued} of {total} mails queued; resume it from its page once the queues have drained',
  'import.no_file': 'no file: send the CSV as the multipart field "file"',
  'import.media_type': 'send the CSV as a text/csv body or as the multipart field "file"',
  'import.too_large': 'file is larger than the import limit of {maxBytes} bytes',
  'import.too_many_rows': 'file has more than the import limit of {maxRows} rows',
  'import.binary': 'file contains NUL bytes: expected CSV text, not a binary file',
  'import.not_utf8': 'file is not valid UTF-8 text: save the CSV as UTF-8',
  'import.header': 'the header row must name the columns "name" and "email"; missing {missing} (found {found})',
  'import.not_csv': 'the file is not valid CSV: {detail}',
  'import.empty': 'the file is empty: expected a header row with "name" and "email"',
  'service.unavailable': 'the database or Redis does not answer at the moment (restarting?): try again in a few seconds',
} as const;

export type ProblemCode = keyof typeof PROBLEMS;
export type Params = Record<string, string | number>;

export interface Problem {
  code: ProblemCode;
  params: Params;
}

export const problem = (code: ProblemCode, params: Params = {}): Problem => ({ code, params });

type Fill = (values?: Params) => string;

/**
 * A text made ready to fill: split once at its {placeholders}, so filling it
 * only joins strings. A value that is missing leaves its placeholder visible.
 */
export function filler(text: string): Fill {
  const parts = text.split(/\{(\w+)\}/); // literal, name, literal, name, …, literal
  if (parts.length === 1) return () => text;
  return (values = {}) => parts.map((part, i) => (i % 2 === 0 ? part : String(values[part] ?? `{${part}}`))).join('');
}

const english = new Map(Object.entries(PROBLEMS).map(([code, text]) => [code, filler(text)]));

/** The problem in English. */
export function englishOf(p: Problem): string {
  return (english.get(p.code) as Fill)(p.params);
}

/** An error a user's input caused: an HTTP status, and the problem with its English message. */
export class ProblemError extends Error {
  readonly statusCode: number;
  readonly problem: Problem;
  constructor(statusCode: number, p: Problem) {
    super(englishOf(p));
    this.statusCode = statusCode;
    this.problem = p;
  }
}

import { englishOf, type Problem } from '../problems.ts';

// How the JSON API answers a user's mistake: the English message, and the
// stable code with its parameters that a client can translate or act on.

/** One problem: `{ error, code, params }`. */
export const problemBody = (p: Problem) => ({ error: englishOf(p), code: p.code, params: p.params });

/** Problems per field: every message joined, then each field's message and its code. */
export function fieldProblemsBody(problems: Partial<Record<string, Problem>>) {
  const entries = Object.entries(problems).filter((entry): entry is [string, Problem] => entry[1] !== undefined);
  return {
    error: entries.map(([, p]) => englishOf(p)).join('; '),
    details: Object.fromEntries(entries.map(([field, p]) => [field, englishOf(p)])),
    problems: Object.fromEntries(entries.map(([field, p]) => [field, { code: p.code, params: p.params }])),
  };
}

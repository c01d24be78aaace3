import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort, waitFor } from './ports.ts';

// The real Mailpit, the chart's mail catcher, built from the Go module proxy
// by hack/test.sh (ensure_mailpit, MAILPIT_BIN) and read through its own
// HTTP API. It listens on loopback, keeps its database in a temporary folder
// and is stopped by PID when the test ends.

export interface MailpitMessage {
  ID: string;
  From: { Name: string; Address: string };
  To: { Name: string; Address: string }[];
  Subject: string;
}

export interface Mailpit {
  smtpPort: number;
  /** Every message received, newest first (Mailpit's /api/v1/messages). */
  messages(): Promise<MailpitMessage[]>;
  /** One message with its text and HTML bodies. */
  message(id: string): Promise<MailpitMessage & { Text: string; HTML: string }>;
  /** Mails accepted over SMTP since start, also those pruned since (its runtime statistics). */
  accepted(): Promise<number>;
  pid: number;
}

/** `maxMessages`: how many Mailpit keeps (MP_MAX_MESSAGES, as the chart sets it); its own default otherwise. */
export async function startMailpit(t: Test, options: { maxMessages?: number } = {}): Promise<Mailpit> {
  const bin = process.env.MAILPIT_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error(`Mailpit not found (MAILPIT_BIN=${bin ?? ''}): run the suite through hack/test.sh, which builds it with Go`);
  }
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'mw-mailpit-'));
  const child = spawn(
    bin,
    [
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      '--listen',
      `127.0.0.1:${httpPort}`,
      '--database',
      join(dir, 'mailpit.db'),
      '--disable-version-check',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...(options.maxMessages === undefined ? {} : { MP_MAX_MESSAGES: String(options.maxMessages) }) },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  const api = `http://127.0.0.1:${httpPort}/api/v1`;
  const get = async <T>(path: string): Promise<T> => {
    const answer = await fetch(`${api}${path}`);
    if (!answer.ok) throw new Error(`Mailpit GET ${path}: ${answer.status}`);
    return (await answer.json()) as T;
  };
  await waitFor(`Mailpit to answer (${stderr})`, async () => {
    if (child.exitCode !== null) throw new Error(`Mailpit exited with ${child.exitCode}: ${stderr}`);
    return (await fetch(`${api}/messages`).catch(() => undefined))?.ok;
  });
  return {
    smtpPort,
    messages: async () => (await get<{ messages: MailpitMessage[] }>('/messages')).messages,
    message: (id) => get(`/message/${id}`),
    accepted: async () => (await get<{ RuntimeStats: { SMTPAccepted: number } }>('/info')).RuntimeStats.SMTPAccepted,
    pid: child.pid as number,
  };
}

import type { MailJob } from '../queue/queues.ts';

export interface Message {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The test mail: English and Japanese in one message, as HTML and plain text. */
export function buildMessage(job: MailJob, sentAt: Date): Message {
  const at = sentAt.toISOString();
  const subject = `Test mail ${job.runId}/${job.recipientId} · テストメール`;
  const en = `Hello ${job.name}, this is a test mail from send run #${job.runId}, sent at ${at}.`;
  const ja = `${job.name} 様、これは送信ラン #${job.runId} のテストメールです（送信時刻 ${at}）。`;
  const text = `${en}\n\n${ja}\n\n-- mail-worker-k8s`;
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<p lang="en">${escapeHtml(en)}</p>`,
    `<p lang="ja">${escapeHtml(ja)}</p>`,
    '<p style="color:#555">— mail-worker-k8s</p>',
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

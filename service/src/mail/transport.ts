import nodemailer, { type Transporter } from 'nodemailer';

export type MailTransport = Transporter;

/** Where mails go (SMTP_HOST, SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASSWORD). */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
}

/**
 * One pooled SMTP transport per process, sized to the worker's concurrency:
 * connections are reused across mails instead of a handshake per message.
 */
export function createTransport(smtp: SmtpSettings, maxConnections: number): MailTransport {
  return nodemailer.createTransport({
    pool: true,
    maxConnections,
    maxMessages: Infinity,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // A mail catcher on plain SMTP is the normal case here; upgrade when offered.
    ignoreTLS: !smtp.secure && smtp.user === undefined,
    ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

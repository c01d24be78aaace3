import { SMTPServer } from 'smtp-server';
import { freePort } from './ports.ts';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  mails: ReceivedMail[];
  /** Connections clients opened since the sink started. */
  connectionsOpened(): number;
  /** How many mails each recipient address received. */
  countsByRecipient(): Map<string, number>;
  /** Answer 550 (permanent) to these recipients. */
  rejectPermanently: Set<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A real SMTP server (the smtp-server package) that records what it accepts.
 * `dataDelayMs`: answer each message's DATA that much later, as a slow relay does.
 */
export async function startSmtpSink(options: { dataDelayMs?: number } = {}): Promise<SmtpSink> {
  const port = await freePort();
  const mails: ReceivedMail[] = [];
  const rejectPermanently = new Set<string>();
  let connections = 0;
  let server: SMTPServer | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onConnect(_session, callback) {
          connections++;
          callback();
        },
        onRcptTo(address, _session, callback) {
          if (rejectPermanently.has(address.address)) {
            const error = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
            callback(error);
          } else callback();
        },
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            mails.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks).toString('utf8'),
            });
            if (options.dataDelayMs) setTimeout(callback, options.dataDelayMs);
            else callback();
          });
        },
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server?.off('error', reject);
        // A client that dies mid-conversation (a killed worker) resets its
        // connection; that is the client's failure, not the server's.
        server?.on('error', () => {});
        resolve();
      });
    });

  await start();
  return {
    port,
    mails,
    rejectPermanently,
    connectionsOpened: () => connections,
    countsByRecipient() {
      const counts = new Map<string, number>();
      for (const mail of mails) for (const to of mail.to) counts.set(to, (counts.get(to) ?? 0) + 1);
      return counts;
    },
    start,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        // close() waits for open connections; the pooled client keeps some open.
        const s = server;
        server = undefined;
        for (const connection of (s as unknown as { connections: Set<{ close(): void }> }).connections ?? []) connection.close();
        s.close(() => resolve());
      }),
  };
}

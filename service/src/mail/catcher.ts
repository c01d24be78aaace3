import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  id: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | undefined;
  receivedAt: string;
}

/**
 * The local stack's mail catcher: an SMTP server in the same process that
 * keeps the newest messages in memory, so a learner needs nothing but Redis
 * to watch mails arrive. (In the chart, Mailpit plays this part.)
 */
export class MailCatcher {
  readonly #capacity: number;
  readonly #server: SMTPServer;
  #mails: CaughtMail[] = [];
  #nextId = 1;
  #received = 0;

  constructor(capacity = 1000) {
    this.#capacity = capacity;
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: 1024 * 1024,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            this.#keep({
              id: this.#nextId++,
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: parsed.html === false ? undefined : parsed.html,
              receivedAt: new Date().toISOString(),
            });
            callback();
          })
          .catch((error: unknown) => callback(error as Error));
      },
    });
  }

  #keep(mail: CaughtMail): void {
    this.#received++;
    this.#mails.push(mail);
    if (this.#mails.length > this.#capacity) this.#mails.splice(0, this.#mails.length - this.#capacity);
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        // Connection errors (a worker killed mid-mail resets its socket) must
        // not take the whole process down; the client retries the mail.
        this.#server.on('error', () => {});
        resolve();
      });
    });
  }

  /** Newest first. */
  list(limit = 100): CaughtMail[] {
    return this.#mails.slice(-limit).reverse();
  }

  get(id: number): CaughtMail | undefined {
    return this.#mails.find((m) => m.id === id);
  }

  /** Every mail received since start or the last clear, also those no longer kept. */
  get received(): number {
    return this.#received;
  }

  clear(): void {
    this.#mails = [];
    this.#received = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** Where mails go (SMTP_HOST, SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASSWORD). */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
}

export interface Envelope {
  from: string;
  to: string[];
}

export interface MailTransport {
  /** Sends a composed message (compose.ts); rejects with the server's answer (responseCode) or the connection's error. */
  send(envelope: Envelope, raw: Buffer): Promise<void>;
  /** Refuses further sends, quits the connections at rest and ends the others once their send is done. */
  close(): void;
}

const CLOSED = 'the SMTP transport is closed';

/** A server's refusal of one mail, after which the connection is still good for the next (RSET). */
function refusedMail(error: SMTPConnection.SMTPError): boolean {
  return (error.code === 'EENVELOPE' || error.code === 'EMESSAGE') && error.responseCode !== 421;
}

/**
 * A pool of SMTP connections, sized to the worker's concurrency: each is
 * opened once and reused mail after mail instead of a handshake per
 * message. The protocol (TLS, authentication, pipelining, dot-stuffing) is
 * nodemailer's SMTPConnection; the pool is here because nodemailer's
 * pooled transport builds every mail anew through its composer and a
 * pipeline of streams, which a worker that composes its own MIME
 * (compose.ts) does not need: sending the same composed mail over five
 * connections, 0.80 against 0.30 ms of CPU per mail (docs/performance.md).
 */
class SmtpPool implements MailTransport {
  readonly #options: SMTPConnection.Options;
  readonly #auth: { user: string; pass: string } | undefined;
  readonly #maxConnections: number;
  /** Connected and not sending. */
  readonly #idle: SMTPConnection[] = [];
  /** Sends waiting for a connection, first come first served. */
  readonly #waiting: Array<{ resolve(connection: SMTPConnection): void; reject(error: unknown): void }> = [];
  /** Connections opening, at rest or sending. */
  #open = 0;
  #closed = false;

  constructor(smtp: SmtpSettings, maxConnections: number) {
    this.#maxConnections = maxConnections;
    this.#auth = smtp.user !== undefined ? { user: smtp.user, pass: smtp.password ?? '' } : undefined;
    this.#options = {
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      // A mail catcher on plain SMTP is the normal case here; upgrade when offered.
      ignoreTLS: !smtp.secure && smtp.user === undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    };
  }

  async send(envelope: Envelope, raw: Buffer): Promise<void> {
    const connection = await this.#acquire();
    try {
      await new Promise<void>((resolve, reject) => connection.send(envelope, raw, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      if (refusedMail(error as SMTPConnection.SMTPError) && !connection.destroyed) {
        connection.reset((resetError) => (resetError ? connection.close() : this.#release(connection)));
      } else connection.close();
      throw error;
    }
    this.#release(connection);
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(CLOSED));
    for (const connection of this.#idle.splice(0)) connection.quit();
  }

  #acquire(): Promise<SMTPConnection> {
    if (this.#closed) return Promise.reject(new Error(CLOSED));
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.#open < this.#maxConnections) return this.#connect();
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Hands a connection that finished a send to the next waiting send, or puts it at rest. */
  #release(connection: SMTPConnection): void {
    if (connection.destroyed) return;
    if (this.#closed) return connection.quit();
    const waiter = this.#waiting.shift();
    if (waiter) waiter.resolve(connection);
    else this.#idle.push(connection);
  }

  #connect(): Promise<SMTPConnection> {
    this.#open++;
    const connection = new SMTPConnection(this.#options);
    return new Promise<SMTPConnection>((resolve, reject) => {
      // A connection's errors reach the send in flight, if any; one at rest
      // (the server gone, the socket's timeout) just ends it.
      connection.on('error', reject);
      connection.once('end', () => {
        reject(new Error(`the SMTP connection to ${this.#options.host}:${this.#options.port} closed while opening`));
        this.#ended(connection);
      });
      connection.connect(() => {
        if (!this.#auth) return resolve(connection);
        connection.login(this.#auth, (error) => {
          if (!error) return resolve(connection);
          reject(error);
          connection.close();
        });
      });
    });
  }

  /** A connection is gone: a send waiting for one gets a new one. */
  #ended(connection: SMTPConnection): void {
    this.#open--;
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    const waiter = this.#waiting.shift();
    if (waiter) this.#connect().then(waiter.resolve, waiter.reject);
  }
}

export function createTransport(smtp: SmtpSettings, maxConnections: number): MailTransport {
  return new SmtpPool(smtp, maxConnections);
}

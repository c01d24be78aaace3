import t from 'tap';
import { ConfigError, DEFAULT_DATABASE_URL, loadConfig } from '../src/config.ts';

t.test('defaults follow the contract', async (t) => {
  const config = loadConfig({});
  t.match(config, {
    port: 3000,
    host: '0.0.0.0',
    databaseUrl: DEFAULT_DATABASE_URL,
    redisUrl: 'redis://localhost:6379/0',
    smtp: { host: 'localhost', port: 1025 },
    workerConcurrency: 20,
    delivery: { retries: 3, retryBaseDelayMs: 1000, lockMs: 30_000 },
    logLevel: 'info',
  });
  t.equal(config.admin, undefined);
  t.equal(config.unleash, undefined);
});

t.test('every bad value is reported at once, naming the variable and what it accepts', async (t) => {
  const error = (() => {
    try {
      loadConfig({
        PORT: 'eighty',
        REDIS_URL: 'http://localhost',
        DATABASE_URL: 'mysql://x',
        WORKER_CONCURRENCY: '0',
        LOG_LEVEL: 'loud',
        EMBEDDED_MAIL_CATCHER: 'maybe',
        ADMIN_USER: 'admin',
        UNLEASH_URL: 'not a url',
        FAULT_ERROR_RATE: '2',
      });
    } catch (e) {
      return e;
    }
  })();
  t.type(error, ConfigError);
  const problems = (error as ConfigError).problems.join('\n');
  t.match(problems, /PORT="eighty": expected a whole number from 0 to 65535/);
  t.match(problems, /REDIS_URL: unsupported scheme http: \(expected redis: or rediss:\)/);
  t.match(problems, /DATABASE_URL: expected file:PATH \(SQLite\) or postgres:\/\/… \(PostgreSQL\)/);
  t.match(problems, /WORKER_CONCURRENCY="0": expected a whole number from 1 to 1000/);
  t.match(problems, /LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent/);
  t.match(problems, /EMBEDDED_MAIL_CATCHER="maybe": expected true or false/);
  t.match(problems, /ADMIN_USER and ADMIN_PASSWORD: set both or neither/);
  t.match(problems, /UNLEASH_URL: not a valid URL/);
  t.match(problems, /FAULT_ERROR_RATE="2": expected a number from 0 to 1/);
  t.equal((error as ConfigError).problems.length, 9);
});

t.test('MAIL_FROM is one mailbox', async (t) => {
  t.same(loadConfig({}).mailFrom, { name: 'Mail Worker', address: 'mail-worker@example.test' });
  t.same(loadConfig({ MAIL_FROM: 'ops@example.com' }).mailFrom, { address: 'ops@example.com' });
  t.same(loadConfig({ MAIL_FROM: '"Ops, Tokyo" <ops@example.com>' }).mailFrom, { name: 'Ops, Tokyo', address: 'ops@example.com' });
  for (const bad of ['a@example.com, b@example.com', 'Ops <not-an-address>', 'Ops <ops@example.com>\r\nBcc: x@example.com']) {
    t.throws(() => loadConfig({ MAIL_FROM: bad }), /MAIL_FROM=.*: expected one mailbox/, JSON.stringify(bad));
  }
});

t.test('credentials and optional parts', async (t) => {
  const config = loadConfig({
    ADMIN_USER: 'a',
    ADMIN_PASSWORD: 'b',
    SMTP_USER: 'u',
    SMTP_PASSWORD: 'p',
    UNLEASH_URL: 'http://unleash:4242/api',
    SEND_RATE_LIMIT: '0.5',
  });
  t.same(config.admin, { user: 'a', password: 'b' });
  t.match(config.smtp, { user: 'u', password: 'p' });
  t.match(config.unleash, { url: 'http://unleash:4242/api', refreshIntervalMs: 5000 });
  t.equal(config.sendRateLimit, 0.5);
});

// BullMQ's ceiling on this machine: a worker whose jobs do nothing, at the
// given concurrency. Prints the seconds from its start until `count` jobs of
// `queue` have completed.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [redisUrl = '', queue = '', count = '0', concurrency = '20'] = process.argv.slice(2);
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
let done = 0;
const started = performance.now();
const worker = new Worker(queue, async () => undefined, { connection, concurrency: Number(concurrency), prefix: 'bull' });
worker.on('completed', () => {
  if (++done === Number(count)) {
    console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
    void worker.close().then(() => connection.quit());
  }
});

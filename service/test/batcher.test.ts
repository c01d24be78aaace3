import t from 'tap';
import { Batcher } from '../src/db/batcher.ts';

t.test('calls of one turn share a batch; each caller gets its own answer', async (t) => {
  const batches: number[][] = [];
  const doubler = new Batcher(async (inputs: number[]) => {
    batches.push(inputs);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return inputs.map((n) => n * 2);
  });
  const first = await Promise.all([1, 2, 3].map((n) => doubler.add(n)));
  t.same(first, [2, 4, 6]);
  // Added while a batch is being written: the next batch takes them together.
  const during = [doubler.add(4)];
  await new Promise((resolve) => setImmediate(resolve));
  during.push(doubler.add(5), doubler.add(6));
  t.same(await Promise.all(during), [8, 10, 12]);
  t.same(batches, [[1, 2, 3], [4], [5, 6]]);
});

t.test('a failed batch fails its own calls only', async (t) => {
  let calls = 0;
  const flaky = new Batcher(async (inputs: string[]) => {
    if (++calls === 1) throw new Error('database away');
    return inputs.map((s) => s.toUpperCase());
  });
  const failed = Promise.allSettled([flaky.add('a'), flaky.add('b')]);
  t.same(
    (await failed).map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.same(await Promise.all([flaky.add('c'), flaky.add('d')]), ['C', 'D'], 'the next batch is tried afresh');
});

t.test('batches are at most maxBatch long', async (t) => {
  const sizes: number[] = [];
  const counter = new Batcher(async (inputs: number[]) => {
    sizes.push(inputs.length);
    return inputs;
  }, 4);
  await Promise.all(Array.from({ length: 10 }, (_, i) => counter.add(i)));
  t.same(sizes, [4, 4, 2]);
});

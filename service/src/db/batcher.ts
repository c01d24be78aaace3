interface Waiting<In, Out> {
  input: In;
  resolve(output: Out): void;
  reject(error: unknown): void;
}

/**
 * Group commit: calls made in the same turn of the event loop, or while the
 * previous batch is still being written, go to the database together, and
 * each caller still gets its own answer. With twenty jobs in flight a worker
 * finishes many of them per turn; one transaction for all of them instead of
 * one each was the largest database saving in docs/performance.md.
 *
 * If a batch fails, every call in it fails with the same error (the
 * transaction wrote none of them) and the next batch is tried afresh.
 */
export class Batcher<In, Out> {
  readonly #run: (inputs: In[]) => Promise<Out[]>;
  readonly #maxBatch: number;
  #waiting: Array<Waiting<In, Out>> = [];
  #draining = false;

  /** `run` answers one output per input, in the same order. */
  constructor(run: (inputs: In[]) => Promise<Out[]>, maxBatch = 500) {
    this.#run = run;
    this.#maxBatch = maxBatch;
  }

  add(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      try {
        const outputs = await this.#run(batch.map((w) => w.input));
        batch.forEach((w, i) => w.resolve(outputs[i] as Out));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.#draining = false;
  }
}

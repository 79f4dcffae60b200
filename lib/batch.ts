/**
 * One job in flight at a time; whoever asks meanwhile waits for the next
 * job, which serves all of them at once ({@link NextBatch}), and the same
 * for reads, one queue per key ({@link KeyedReads}).
 *
 * @module
 */

/** A caller waiting for the next job. */
interface Waiter<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Batches calls behind the job in flight. The first call starts a job at
 * once (synchronously, within `run`); calls made while it runs queue up, and
 * the next job takes all of them. So every answer comes from a job that
 * began after its caller asked — a read then sees everything written before
 * the call — while a storm of callers costs one job per round trip, not one
 * each. `work` gets the inputs in call order and returns one output per
 * input, in the same order; if it fails, every caller of that job (and only
 * those) gets its error. `onIdle` runs each time the queue drains, after the
 * last job's callers were answered.
 *
 * @example
 * ```ts
 * const lookups = new NextBatch<string, boolean>(async (ids) => {
 *   const entries = await kv.getMany(ids.map((id) => ["revoked", id]));
 *   return entries.map((e) => e.value !== null);
 * });
 * const revoked = await lookups.run("sid-1"); // one getMany for all asking now
 * ```
 */
export class NextBatch<I, O> {
  #waiting: Waiter<I, O>[] = [];
  #running = false;

  constructor(
    private readonly work: (inputs: readonly I[]) => Promise<readonly O[]>,
    private readonly onIdle?: () => void,
  ) {}

  /** `input`'s output from a job that starts after this call. */
  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      if (!this.#running) this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        const outputs = await this.work(batch.map((w) => w.input));
        if (outputs.length !== batch.length) {
          throw new Error(
            `NextBatch: work returned ${outputs.length} outputs for ${batch.length} inputs`,
          );
        }
        batch.forEach((w, i) => w.resolve(outputs[i]));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#running = false;
    this.onIdle?.();
  }
}

/**
 * At most one read per key in flight; whoever asks meanwhile waits for the
 * next read of that key, which answers all of them. So every answer comes
 * from a read begun after its caller asked (a {@link NextBatch} per key,
 * dropped once idle). The first caller's `read` is the one run for a batch:
 * every caller of one key must ask for the same thing.
 *
 * @example
 * ```ts
 * const reads = new KeyedReads();
 * const [a, b] = await Promise.all([
 *   reads.read("general", () => kv.get(["room_info", "general"])),
 *   reads.read("general", () => kv.get(["room_info", "general"])), // waits for the next read
 * ]);
 * ```
 */
export class KeyedReads {
  /** One batch per key, while any wait. */
  readonly #queues = new Map<string, NextBatch<void, unknown>>();

  /** `read`'s answer for `key`, from a read begun after this call. */
  read<T>(key: string, read: () => Promise<T>): Promise<T> {
    let queue = this.#queues.get(key) as NextBatch<void, T> | undefined;
    if (!queue) {
      const made = new NextBatch<void, T>(
        // One read answers every caller of the batch.
        async (callers) => {
          const value = await read();
          return callers.map(() => value);
        },
        () => {
          if (this.#queues.get(key) === made) this.#queues.delete(key);
        },
      );
      this.#queues.set(key, made as NextBatch<void, unknown>);
      queue = made;
    }
    return queue.run();
  }
}

/**
 * One job in flight at a time; whoever asks meanwhile waits for the next
 * job, which serves all of them at once ({@link NextBatch}), and the same
 * for reads, one queue per key ({@link KeyedReads}), taking turns with the
 * process's other shared reads ({@link ReadTurns}).
 *
 * @module
 */

/**
 * Which shared reads go first when turns are short: those of connections
 * already taken in (their access, welcome, resume; a post's access) before
 * a new connection's first read (the socket route's check before the
 * upgrade).
 */
export type ReadPriority = "admitted" | "admission";

/** Gives a turn back. */
export type ReleaseTurn = () => void;

/**
 * Shared reads in flight at once, all keys and rooms together. Why: Deno KV
 * answers one operation at a time, and after a restart 200 rooms' shared
 * reads (about four kinds each, each begun again as soon as the last one
 * ended while sockets kept asking) kept some 600 operations queued ahead of
 * every other: a message posted during a 10,000-socket storm waited 2.3 s
 * (p50) to be stored and echoed. With 8 in flight, and the reads of
 * connections already in first, it waited 0.13 s; reads waiting longer are
 * shared by more sockets.
 */
export const SHARED_READS_IN_FLIGHT = 8;

/**
 * Of the turns given while both kinds wait, one in this many goes to an
 * `"admission"` read: those of connections already in go first, but a
 * steady stream of them (posts, resumes) cannot hold new connections out
 * for good.
 */
export const ADMISSION_TURN_EVERY = 4;

/**
 * Turns for reads: at most `max` in flight; a read waiting for one is given
 * the next turn free, `"admitted"` ones before `"admission"` ones (but see
 * {@link ADMISSION_TURN_EVERY}), in the order asked within each. A read
 * holding a turn must never wait for another (all turns held so would wait
 * for good): a {@link KeyedReads} read touches the store only.
 * {@link take} gives a free turn at once (not a promise), so a read with a
 * turn free starts in the caller's step.
 *
 * @example
 * ```ts
 * const turns = new ReadTurns(2);
 * const turn = turns.take("admitted");
 * const release = turn instanceof Promise ? await turn : turn;
 * try { await kv.get(["room_info", "general"]); } finally { release(); }
 * ```
 */
export class ReadTurns {
  #inFlight = 0;
  /** Turns given to admitted reads in a row while an admission read waited. */
  #admittedInARow = 0;
  readonly #waiting: Record<ReadPriority, (() => void)[]> = {
    admitted: [],
    admission: [],
  };

  constructor(readonly max: number) {}

  /** Reads holding a turn. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** A turn: at once when one is free, else when given; call the release once done. */
  take(priority: ReadPriority): ReleaseTurn | Promise<ReleaseTurn> {
    if (this.#inFlight < this.max) {
      this.#inFlight++;
      return this.#release();
    }
    return new Promise<ReleaseTurn>((resolve) =>
      this.#waiting[priority].push(() => resolve(this.#release()))
    );
  }

  #release(): ReleaseTurn {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The turn passes straight to the next waiting read, if any.
      const { admitted, admission } = this.#waiting;
      let next: (() => void) | undefined;
      if (
        admission.length > 0 &&
        (admitted.length === 0 ||
          ++this.#admittedInARow >= ADMISSION_TURN_EVERY)
      ) {
        this.#admittedInARow = 0;
        next = admission.shift();
      } else next = admitted.shift();
      if (next) next();
      else this.#inFlight--;
    };
  }
}

/** The turns every {@link KeyedReads} of the process takes (see {@link SHARED_READS_IN_FLIGHT}). */
export const sharedReadTurns = new ReadTurns(SHARED_READS_IN_FLIGHT);

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
    /**
     * Taken before each job takes its callers (a turn of {@link ReadTurns}):
     * who asks while a job waits for it is in that job.
     */
    private readonly turn?: () => ReleaseTurn | Promise<ReleaseTurn>,
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
      const turn = this.turn?.();
      const release = turn instanceof Promise ? await turn : turn;
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        let outputs: readonly O[];
        try {
          outputs = await this.work(batch.map((w) => w.input));
        } finally {
          release?.();
        }
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
 * every caller of one key must ask for the same thing. Given `turns`, each
 * read takes one of them first, at `priority`; callers asking while it
 * waits for its turn are answered by it.
 *
 * @example
 * ```ts
 * const reads = new KeyedReads(sharedReadTurns, "admitted");
 * const [a, b] = await Promise.all([
 *   reads.read("general", () => kv.get(["room_info", "general"])),
 *   reads.read("general", () => kv.get(["room_info", "general"])), // waits for the next read
 * ]);
 * ```
 */
export class KeyedReads {
  /** One batch per key, while any wait. */
  readonly #queues = new Map<string, NextBatch<void, unknown>>();
  readonly #turn: (() => ReleaseTurn | Promise<ReleaseTurn>) | undefined;

  constructor(turns?: ReadTurns, priority: ReadPriority = "admitted") {
    this.#turn = turns && (() => turns.take(priority));
  }

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
        this.#turn,
      );
      this.#queues.set(key, made as NextBatch<void, unknown>);
      queue = made;
    }
    return queue.run();
  }
}

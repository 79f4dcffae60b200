/**
 * Watching a changing set of Deno KV keys, named by string, in as few
 * `kv.watch` streams as KV allows: one stream per up to {@link WATCH_KEYS}
 * keys. Adding or removing a name re-opens the stream that holds it (every
 * change made in one tick re-opens it once); a stream that fails is retried
 * with backoff. The `kv` layer watches its groups' heads with it.
 *
 * A re-opened stream first reports the current entries; a name only hears
 * from streams opened after it was added, so its first report is never older
 * than its `add`.
 *
 * @module
 */

import { errorText, type Logger } from "../log.ts";
import { backoffDelay } from "./backoff.ts";

/** Keys one `kv.watch` call takes at most (Deno KV's limit; more throws). */
export const WATCH_KEYS = 10;
/** First retry delay after a stream failed, doubled per failure. */
export const WATCH_RETRY_BASE_MS = 50;
/** Longest retry delay. */
export const WATCH_RETRY_MAX_MS = 5_000;

/** What a {@link KeyWatches} reports. */
export interface KeyWatchHandlers {
  /** A stream reported `entry` for `name` (its first report, or a change). */
  onEntry(name: string, entry: Deno.KvEntryMaybe<unknown>): void;
  /** The stream covering `names` failed; it is retried after a delay. */
  onFailure(names: readonly string[], err: unknown): void;
}

type Reader = ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]>;

/** One stream over up to {@link WATCH_KEYS} names. */
interface Slot {
  names: Set<string>;
  reader: Reader | null;
  /** The re-open queued for the end of this tick. */
  queued: Promise<void> | null;
  /** Re-opens of this slot run one after another. */
  chain: Promise<void>;
  /** Consecutive failures (for the retry delay). */
  failures: number;
  /** A retry is scheduled. */
  retrying: boolean;
}

/** A watched name: its slot, and the last stream opened before it was added. */
interface Watched {
  slot: Slot;
  after: number;
}

/**
 * A changing set of watched keys.
 *
 * @example
 * ```ts
 * const watches = new KeyWatches(kv, (room) => ["head", room], {
 *   onEntry: (room, entry) => console.log(room, entry.versionstamp),
 *   onFailure: () => {},
 * }, log);
 * await watches.add("lobby");
 * ```
 */
export class KeyWatches {
  readonly #slots = new Set<Slot>();
  readonly #watched = new Map<string, Watched>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #streamIds = 0;
  #failing = 0;
  #closed = false;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly keyOf: (name: string) => Deno.KvKey,
    private readonly handlers: KeyWatchHandlers,
    private readonly log: Logger,
  ) {}

  /** Starts watching `name`; resolves once a stream covering it is open. */
  add(name: string): Promise<void> {
    if (this.#closed || this.#watched.has(name)) return Promise.resolve();
    // An emptied slot not yet stopped is reused: its re-open takes the name.
    let slot = [...this.#slots].find((s) => s.names.size < WATCH_KEYS);
    if (!slot) {
      slot = {
        names: new Set(),
        reader: null,
        queued: null,
        chain: Promise.resolve(),
        failures: 0,
        retrying: false,
      };
      this.#slots.add(slot);
    }
    slot.names.add(name);
    this.#watched.set(name, { slot, after: this.#streamIds });
    return this.#reopenSoon(slot);
  }

  /** Stops watching `name`; resolves once its stream was re-opened without it. */
  remove(name: string): Promise<void> {
    const watched = this.#watched.get(name);
    if (!watched) return Promise.resolve();
    this.#watched.delete(name);
    watched.slot.names.delete(name);
    return this.#reopenSoon(watched.slot);
  }

  /** Names watched. */
  get size(): number {
    return this.#watched.size;
  }

  /** Open streams. */
  streams(): number {
    let open = 0;
    for (const slot of this.#slots) if (slot.reader) open++;
    return open;
  }

  /** Some stream failed and has not worked since. */
  failing(): boolean {
    return this.#failing > 0;
  }

  /** Stops every stream and retry; waits for re-opens in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#watched.clear();
    // Re-opens queued in this tick run first (they see the watches closed).
    await Promise.resolve();
    const slots = [...this.#slots];
    await Promise.all(slots.map((slot) => slot.chain));
    await Promise.all(slots.map((slot) => this.#stop(slot)));
    this.#slots.clear();
  }

  /**
   * Re-opens `slot`'s stream at the end of this tick, once for every change
   * made to it in the tick; resolves when that re-open is done.
   */
  #reopenSoon(slot: Slot): Promise<void> {
    slot.queued ??= new Promise<void>((resolve) =>
      queueMicrotask(() => {
        slot.queued = null;
        slot.chain = slot.chain.then(() => this.#reopen(slot));
        slot.chain.then(resolve);
      })
    );
    return slot.queued;
  }

  /** Replaces `slot`'s stream with one over its current names (none: just stops it). */
  async #reopen(slot: Slot): Promise<void> {
    await this.#stop(slot);
    if (this.#closed || !this.#slots.has(slot)) return;
    if (slot.names.size === 0) {
      this.#slots.delete(slot);
      this.#recovered(slot);
      return;
    }
    const names = [...slot.names];
    const id = ++this.#streamIds;
    let reader: Reader;
    try {
      reader = this.kv.watch(names.map(this.keyOf)).getReader();
    } catch (err) {
      this.#failed(slot, err);
      return;
    }
    slot.reader = reader;
    this.#listen(slot, reader, names, id);
  }

  async #stop(slot: Slot): Promise<void> {
    const reader = slot.reader;
    slot.reader = null;
    if (reader) await reader.cancel().catch(() => {});
  }

  async #listen(
    slot: Slot,
    reader: Reader,
    names: string[],
    id: number,
  ): Promise<void> {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done || slot.reader !== reader) return;
        if (slot.failures > 0) {
          this.#recovered(slot);
          this.log.info("kv.watch_recovered", { keys: names.length });
        }
        value.forEach((entry, i) => {
          const watched = this.#watched.get(names[i]);
          if (watched?.slot === slot && id > watched.after) {
            this.handlers.onEntry(names[i], entry);
          }
        });
      }
    } catch (err) {
      if (slot.reader === reader) this.#failed(slot, err);
    }
  }

  /** Clears `slot`'s failure count (it works again, or is gone). */
  #recovered(slot: Slot): void {
    if (slot.failures === 0) return;
    slot.failures = 0;
    this.#failing--;
  }

  #failed(slot: Slot, err: unknown): void {
    slot.reader = null;
    if (this.#closed) return;
    if (slot.failures++ === 0) this.#failing++;
    this.log.warn("kv.watch_failed", {
      keys: slot.names.size,
      error: errorText(err),
    });
    this.handlers.onFailure([...slot.names], err);
    if (slot.retrying) return;
    slot.retrying = true;
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        slot.retrying = false;
        if (this.#slots.has(slot)) this.#reopenSoon(slot);
      },
      backoffDelay(slot.failures - 1, WATCH_RETRY_BASE_MS, WATCH_RETRY_MAX_MS),
    );
    this.#timers.add(timer);
  }
}

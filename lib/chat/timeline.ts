/**
 * A room's messages as one client knows them: ordered by `seq`, without
 * duplicates, and aware of gaps. Pure, so the island's recovery logic is
 * tested without a browser.
 *
 * @module
 */

import type { ChatMessage } from "./types.ts";

/** Messages by `seq` plus the highest `seq` up to which nothing is missing. */
export class Timeline {
  readonly #bySeq = new Map<number, ChatMessage>();
  #sorted: ChatMessage[] = [];
  #contiguous = 0;
  #highest = 0;
  #started = false;

  /** Highest `seq` such that every message after the starting point up to it is known. */
  get contiguous(): number {
    return this.#contiguous;
  }

  /** Highest `seq` known to exist (seen in a message or announced in `welcome`). */
  get highest(): number {
    return this.#highest;
  }

  /** Whether messages between {@link contiguous} and {@link highest} are missing. */
  get hasGap(): boolean {
    return this.#contiguous < this.#highest;
  }

  /** Messages in ascending `seq` order. The array is replaced, never mutated, on change. */
  get messages(): readonly ChatMessage[] {
    return this.#sorted;
  }

  /** Lowest known `seq`, or 0. */
  get oldest(): number {
    return this.#sorted[0]?.seq ?? 0;
  }

  /**
   * Starts (or restarts) from a `welcome`: `lastSeq` is where the room is now.
   * On the first welcome nothing older is owed; on a later one the messages
   * since {@link contiguous} are.
   */
  welcome(history: readonly ChatMessage[], lastSeq: number): void {
    if (!this.#started) {
      this.#started = true;
      this.#contiguous = history[0] ? history[0].seq - 1 : lastSeq;
    }
    this.#highest = Math.max(this.#highest, lastSeq);
    this.add(history);
  }

  /**
   * Adds messages (any order, duplicates ignored). Returns true when any was new.
   *
   * @example
   * ```ts
   * const t = new Timeline();
   * t.welcome([], 0);
   * t.add([{ seq: 2 } as ChatMessage]); // gap: 1 is missing
   * t.hasGap; // true
   * ```
   */
  add(messages: readonly ChatMessage[]): boolean {
    let changed = false;
    for (const m of messages) {
      if (this.#bySeq.has(m.seq)) continue;
      this.#bySeq.set(m.seq, m);
      if (m.seq > this.#highest) this.#highest = m.seq;
      changed = true;
    }
    if (changed) {
      this.#sorted = [...this.#bySeq.values()].sort((a, b) => a.seq - b.seq);
      this.#advance();
    }
    return changed;
  }

  /**
   * Applies a `resume` answer. Messages the server no longer has (retention)
   * are skipped over so recovery never loops on them.
   */
  addNewer(messages: readonly ChatMessage[], hasMore: boolean): void {
    const first = messages[0];
    if (
      first && first.seq > this.#contiguous + 1 &&
      !this.#bySeq.has(this.#contiguous + 1)
    ) {
      this.#contiguous = first.seq - 1;
    }
    if (!first && !hasMore) this.#contiguous = this.#highest;
    this.add(messages);
    this.#advance();
  }

  #advance(): void {
    while (this.#bySeq.has(this.#contiguous + 1)) this.#contiguous++;
  }
}

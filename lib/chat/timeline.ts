/**
 * A room's messages as one client knows them: ordered by `seq`, without
 * duplicates, aware of gaps, with edits, deletes and reactions folded in.
 * Pure, so the island's recovery logic is tested without a browser.
 *
 * Events (edit, delete, react) share the room's `seq` with messages. An
 * event past a gap waits until the gap is filled, so each message sees its
 * events in `seq` order; a message's `rev` makes folding idempotent (an
 * event already folded in, live or by the store, is skipped). So a client
 * that missed events and resumes ends in exactly the state of one that saw
 * them live.
 *
 * @module
 */

import { foldEvent, requote, revOf } from "./events.ts";
import type { ChatMessage, RoomEvent } from "./types.ts";

/** Messages by `seq` plus the highest `seq` up to which nothing is missing. */
export class Timeline {
  readonly #bySeq = new Map<number, ChatMessage>();
  /** Events past {@link contiguous}, waiting for the gap before them to fill. */
  readonly #pending = new Map<number, RoomEvent>();
  #dirty = false;
  #sorted: ChatMessage[] = [];
  #contiguous = 0;
  #highest = 0;
  #started = false;

  /** Highest `seq` such that every message after the starting point up to it is known. */
  get contiguous(): number {
    return this.#contiguous;
  }

  /**
   * Whether a welcome (or the history a page was rendered with) started it:
   * from then on {@link contiguous} is a point in the room's log the client
   * may resume from (a socket's `?after=`).
   */
  get started(): boolean {
    return this.#started;
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
      // The history is folded up to `lastSeq`: no event before it is owed.
      this.#contiguous = lastSeq;
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
    return this.#update(messages, []);
  }

  /**
   * Applies events (any order; an event is applied once however often it
   * arrives). Returns true when anything shown changed or an event was new.
   *
   * @example
   * ```ts
   * t.apply([{ kind: "edit", seq: 5, target: 2, text: "fixed", ... }]);
   * t.messages.find((m) => m.seq === 2)?.text; // "fixed"
   * ```
   */
  apply(events: readonly RoomEvent[]): boolean {
    return this.#update([], events);
  }

  /**
   * Applies a `resume` answer (messages and events after {@link contiguous}).
   * What the server no longer has (retention) is skipped over so recovery
   * never loops on it.
   */
  addNewer(
    messages: readonly ChatMessage[],
    hasMore: boolean,
    events: readonly RoomEvent[] = [],
  ): void {
    const first = Math.min(
      messages[0]?.seq ?? Infinity,
      events[0]?.seq ?? Infinity,
    );
    if (
      first !== Infinity && first > this.#contiguous + 1 &&
      !this.#known(this.#contiguous + 1)
    ) {
      this.#contiguous = first - 1;
    }
    if (first === Infinity && !hasMore) this.#contiguous = this.#highest;
    this.#update(messages, events);
  }

  #known(seq: number): boolean {
    return this.#bySeq.has(seq) || this.#pending.has(seq);
  }

  #update(
    messages: readonly ChatMessage[],
    events: readonly RoomEvent[],
  ): boolean {
    let changed = false;
    for (const m of messages) {
      const had = this.#bySeq.get(m.seq);
      // A copy folded further (a later welcome or page) replaces ours; a resend never does.
      if (had && revOf(m) <= revOf(had)) continue;
      this.#bySeq.set(m.seq, m);
      if (m.seq > this.#highest) this.#highest = m.seq;
      this.#dirty = changed = true;
    }
    for (const e of events) {
      if (e.seq > this.#highest) this.#highest = e.seq;
      if (e.seq <= this.#contiguous) changed = this.#fold(e) || changed;
      else if (!this.#pending.has(e.seq)) {
        this.#pending.set(e.seq, e);
        changed = true;
      }
    }
    this.#advance();
    if (this.#dirty) {
      this.#dirty = false;
      this.#sorted = [...this.#bySeq.values()].sort((a, b) => a.seq - b.seq);
    }
    return changed;
  }

  /** Folds one event into its target and requotes the target's replies. */
  #fold(event: RoomEvent): boolean {
    const target = this.#bySeq.get(event.target);
    let changed = false;
    if (target) {
      const next = foldEvent(target, event);
      if (next !== target) {
        this.#bySeq.set(target.seq, next);
        changed = true;
      }
    }
    if (event.kind !== "react") {
      for (const m of this.#bySeq.values()) {
        const next = requote(m, event);
        if (next !== m) {
          this.#bySeq.set(m.seq, next);
          changed = true;
        }
      }
    }
    if (changed) this.#dirty = true;
    return changed;
  }

  #advance(): void {
    // Events the contiguous point jumped past (retention) are folded first, in order.
    if (this.#pending.size) {
      for (const seq of [...this.#pending.keys()].sort((a, b) => a - b)) {
        if (seq > this.#contiguous) break;
        this.#fold(this.#pending.get(seq)!);
        this.#pending.delete(seq);
      }
    }
    for (;;) {
      const next = this.#contiguous + 1;
      const event = this.#pending.get(next);
      if (event) {
        this.#pending.delete(next);
        this.#fold(event);
      } else if (!this.#bySeq.has(next)) break;
      this.#contiguous = next;
    }
  }
}

/**
 * Who is typing, as a client hears it: each `typing` frame shows a name until
 * its ttl runs out or that person's message arrives. Pure: the caller brings
 * the time and runs the timer.
 *
 * @module
 */

/**
 * Typing indicators by user id, in the order people started typing.
 *
 * @example
 * ```ts
 * const typing = new TypingIndicators();
 * typing.show("guest:ana", "Ana", now + 5_000);
 * typing.names;             // ["Ana"]
 * typing.expire(now + 5_000); // true: Ana's indicator ran out
 * ```
 */
export class TypingIndicators {
  readonly #byUser = new Map<string, { name: string; until: number }>();
  #names: readonly string[] = [];

  /** Names of the people typing. The array is replaced, never mutated, on change. */
  get names(): readonly string[] {
    return this.#names;
  }

  /** When the next indicator runs out, or `null` when nobody is typing. */
  get nextExpiry(): number | null {
    let next: number | null = null;
    for (const { until } of this.#byUser.values()) {
      if (next === null || until < next) next = until;
    }
    return next;
  }

  /** Shows `name` for `userId` until `until` (a refresh keeps their place). */
  show(userId: string, name: string, until: number): void {
    this.#byUser.set(userId, { name, until });
    this.#update();
  }

  /** Hides `userId`'s indicator (their message arrived). Returns true when it was shown. */
  clear(userId: string): boolean {
    if (!this.#byUser.delete(userId)) return false;
    this.#update();
    return true;
  }

  /** Drops the indicators that ran out by `now`. Returns true when any did. */
  expire(now: number): boolean {
    let changed = false;
    for (const [id, { until }] of this.#byUser) {
      if (until <= now) changed = this.#byUser.delete(id) || changed;
    }
    if (changed) this.#update();
    return changed;
  }

  #update(): void {
    this.#names = [...this.#byUser.values()].map((t) => t.name);
  }
}

/**
 * The outbox: messages written but not yet confirmed by the server, kept in a
 * storage (the browser's `localStorage`) so that what was written offline is
 * still sent, once, after a reload. Pure apart from the storage it is given.
 *
 * @module
 */

/** A message still on its way to the server. */
export interface PendingMessage {
  clientId: string;
  text: string;
  ts: number;
}

/** The part of `Storage` the outbox uses; `localStorage` is one. */
export type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/**
 * Where a user's outbox for a room is kept.
 *
 * @example
 * ```ts
 * outboxKey("general", "guest:ana"); // "roomcast:outbox:general:guest:ana"
 * ```
 */
export function outboxKey(room: string, userId: string): string {
  return `roomcast:outbox:${room}:${userId}`;
}

/**
 * Pending messages in the order they were written, saved to `storage` on
 * every change. Storage that is full, disabled or missing only loses the
 * persistence: the outbox still works in memory.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(localStorage, outboxKey(room, user.id));
 * outbox.add({ clientId, text: "hi", ts: Date.now() });
 * outbox.confirm([clientId]); // stored by the server: no longer pending
 * ```
 */
export class Outbox {
  readonly #storage: StorageLike | null;
  readonly #key: string;
  #items: readonly PendingMessage[] = [];

  /** `storage` may be `null` (no persistence); `key` is usually {@link outboxKey}. */
  constructor(storage: StorageLike | null, key: string) {
    this.#storage = storage;
    this.#key = key;
  }

  /** The pending messages. The array is replaced, never mutated, on change. */
  get items(): readonly PendingMessage[] {
    return this.#items;
  }

  /** Reads what a previous page left; anything unreadable counts as empty. */
  load(): void {
    let saved: unknown = [];
    try {
      saved = JSON.parse(this.#storage?.getItem(this.#key) ?? "[]");
    } catch { /* unreadable: start empty */ }
    this.#set(
      Array.isArray(saved)
        ? saved.filter((p) =>
          typeof p?.clientId === "string" && typeof p?.text === "string"
        )
        : [],
    );
  }

  /** Adds a message written now. */
  add(message: PendingMessage): void {
    this.#set([...this.#items, message]);
  }

  /**
   * Drops the messages the server has stored (by `clientId`). Returns true
   * when any was pending.
   */
  confirm(clientIds: Iterable<string>): boolean {
    const stored = new Set(clientIds);
    const left = this.#items.filter((p) => !stored.has(p.clientId));
    if (left.length === this.#items.length) return false;
    this.#set(left);
    return true;
  }

  #set(items: readonly PendingMessage[]): void {
    this.#items = items;
    try {
      if (items.length === 0) this.#storage?.removeItem(this.#key);
      else this.#storage?.setItem(this.#key, JSON.stringify(items));
    } catch { /* storage full or disabled: the outbox still lives in memory */ }
  }
}

/**
 * The outbox: messages written but not yet confirmed by the server, kept in a
 * storage (the browser's `localStorage`) so that what was written offline is
 * still sent, once, after a reload. It belongs to the browser and the room,
 * not to who is signed in: what was typed before a session ended is sent
 * after signing in again. Pure apart from the storage it is given.
 *
 * @module
 */

/** A message still on its way to the server. */
export interface PendingMessage {
  clientId: string;
  text: string;
  ts: number;
}

/**
 * The part of `Storage` the outbox uses; `localStorage` is one. `key` and
 * `length`, when there, let it find outboxes saved under older keys.
 */
export type StorageLike =
  & Pick<Storage, "getItem" | "setItem" | "removeItem">
  & Partial<Pick<Storage, "key" | "length">>;

/**
 * Where this browser's outbox for a room is kept.
 *
 * @example
 * ```ts
 * outboxKey("general"); // "roomcast:outbox:general"
 * ```
 */
export function outboxKey(room: string): string {
  return `roomcast:outbox:${room}`;
}

/**
 * Where earlier versions kept a user's outbox for a room (by user id, so a
 * new guest id lost it). Room names hold no `:`, so these never collide with
 * {@link outboxKey}.
 *
 * @example
 * ```ts
 * legacyOutboxKey("general", "guest:ana"); // "roomcast:outbox:general:guest:ana"
 * ```
 */
export function legacyOutboxKey(room: string, userId: string): string {
  return `${outboxKey(room)}:${userId}`;
}

/**
 * The legacy outboxes of `room` in `storage`: `userId`'s, and every other
 * one the storage can list.
 */
export function legacyOutboxKeys(
  storage: StorageLike | null,
  room: string,
  userId: string,
): string[] {
  const keys = new Set([legacyOutboxKey(room, userId)]);
  const prefix = legacyOutboxKey(room, "");
  try {
    const length = storage?.length ?? 0;
    for (let i = 0; i < length; i++) {
      const key = storage?.key?.(i);
      if (key?.startsWith(prefix)) keys.add(key);
    }
  } catch { /* storage disabled */ }
  return [...keys];
}

/**
 * Pending messages in the order they were written, saved to `storage` on
 * every change. Storage that is full, disabled or missing only loses the
 * persistence: the outbox still works in memory.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(localStorage, outboxKey(room));
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

  /**
   * Reads what a previous page left, and takes in what is saved under the
   * keys in `absorb` (older keys, see {@link legacyOutboxKeys}: in the order
   * it was written, each message once, and those keys are then removed).
   * Anything unreadable counts as empty.
   */
  load(absorb: readonly string[] = []): void {
    const others = absorb.filter((key) => key !== this.#key);
    const items = this.#read(this.#key);
    const absorbed = others.flatMap((key) => this.#read(key));
    const known = new Set(items.map((p) => p.clientId));
    for (const p of absorbed.sort((a, b) => a.ts - b.ts)) {
      if (!known.has(p.clientId)) items.push(p);
      known.add(p.clientId);
    }
    this.#set(items);
    for (const key of others) {
      try {
        this.#storage?.removeItem(key);
      } catch { /* storage disabled */ }
    }
  }

  #read(key: string): PendingMessage[] {
    let saved: unknown = [];
    try {
      saved = JSON.parse(this.#storage?.getItem(key) ?? "[]");
    } catch { /* unreadable: start empty */ }
    return Array.isArray(saved)
      ? saved.filter((p) =>
        typeof p?.clientId === "string" && typeof p?.text === "string"
      ).map((p) => ({
        clientId: p.clientId,
        text: p.text,
        ts: typeof p.ts === "number" ? p.ts : 0,
      }))
      : [];
  }

  /** Whether `clientId` is pending. */
  has(clientId: string): boolean {
    return this.#items.some((p) => p.clientId === clientId);
  }

  /** Adds a message written now. */
  add(message: PendingMessage): void {
    this.#set([...this.#items, message]);
  }

  /** Drops a message the user gave up on. Returns true when it was pending. */
  discard(clientId: string): boolean {
    const left = this.#items.filter((p) => p.clientId !== clientId);
    if (left.length === this.#items.length) return false;
    this.#set(left);
    return true;
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

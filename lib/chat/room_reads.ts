/**
 * The store reads of the connect path — a newcomer's `welcome` page (or,
 * for a socket opened with `?after=`, only the room's head), and a `resume` —
 * shared by the sockets of a room that ask at the same time.
 *
 * After a restart every socket of a room comes back within a few hundred
 * milliseconds, and each used to read the room's head and recent page (and
 * then its `resume`) from KV on its own: 10,000 reconnects queued 30,000
 * reads behind one another on the database. Here a room has at most one
 * read of each kind in flight; whoever asks meanwhile waits for the NEXT
 * read, which then answers all of them at once. So every answer comes from a
 * read that began after its socket asked — after it joined the room's group
 * — exactly as if it had read alone: nothing appended before it joined can be
 * missing from its welcome. The store stays the truth; nothing is cached
 * past the read. The welcome's history is encoded once per read and shared.
 *
 * @module
 */

import type { LogPage, MessageStore, RoomStore } from "../store/types.ts";
import type { ChatMessage, RoomInfo } from "./types.ts";
import { KeyedReads, sharedReadTurns } from "../batch.ts";

/** What a welcome needs from the store, read once for every newcomer waiting. */
export interface WelcomePage {
  /** The room's head, read before the page (the page is folded at least up to it). */
  lastSeq: number;
  messages: ChatMessage[];
  hasMore: boolean;
  /** `messages` as JSON, encoded once and shared by every welcome of this read. */
  historyJson: string;
}

/**
 * Shared reads for one store (one per process: see {@link sharedReads}).
 *
 * @example
 * ```ts
 * const reads = sharedReads(store);
 * const page = await reads.welcome("general", 50); // one read for everyone asking now
 * ```
 */
export class RoomReads {
  readonly #reads = new KeyedReads(sharedReadTurns);

  constructor(private readonly store: MessageStore) {}

  /** The room's head and its newest `limit` messages, from a read begun after this call. */
  welcome(room: string, limit: number): Promise<WelcomePage> {
    return this.#reads.read(`w\u0000${room}\u0000${limit}`, async () => {
      const lastSeq = await this.store.lastSeq(room);
      const page = await this.store.recent(room, limit);
      return {
        lastSeq: Math.max(lastSeq, page.messages.at(-1)?.seq ?? 0),
        messages: page.messages,
        hasMore: page.hasMore,
        historyJson: JSON.stringify(page.messages),
      };
    });
  }

  /**
   * The room's head (its `lastSeq`, one key), from a read begun after this
   * call: all a socket opened with `?after=` needs to tell whether it is
   * answered from `after` (then its welcome carries no page).
   *
   * @example
   * ```ts
   * const head = await sharedReads(store).head("general"); // 0: nothing stored yet
   * ```
   */
  head(room: string): Promise<number> {
    return this.#reads.read(`h\u0000${room}`, () => this.store.lastSeq(room));
  }

  /** The log after `after` (what `resume` answers), from a read begun after this call. */
  since(room: string, after: number, limit: number): Promise<LogPage> {
    return this.#reads.read(
      `s\u0000${room}\u0000${after}\u0000${limit}`,
      () => this.store.since(room, after, limit),
    );
  }
}

/**
 * A room's record (`RoomStore.get`), read once for every socket of the room
 * asking at the same time, from a read begun after each asked: the socket
 * route's check before the upgrade (a public room needs nothing else).
 *
 * @example
 * ```ts
 * const info = await sharedRoomInfo(rooms).get("general");
 * ```
 */
export class RoomInfoReads {
  // A new connection's first read: it waits for those of connections already in.
  readonly #reads = new KeyedReads(sharedReadTurns, "admission");

  constructor(private readonly rooms: Pick<RoomStore, "get">) {}

  /** The room's record (null: none), from a read begun after this call. */
  get(room: string): Promise<RoomInfo | null> {
    return this.#reads.read(room, () => this.rooms.get(room));
  }
}

const byRoomStore = new WeakMap<object, RoomInfoReads>();

/** The {@link RoomInfoReads} of `rooms`, made on first use (one per process). */
export function sharedRoomInfo(rooms: Pick<RoomStore, "get">): RoomInfoReads {
  let reads = byRoomStore.get(rooms);
  if (!reads) byRoomStore.set(rooms, reads = new RoomInfoReads(rooms));
  return reads;
}

const byStore = new WeakMap<MessageStore, RoomReads>();

/** The {@link RoomReads} of `store`, made on first use (every socket of a process shares it). */
export function sharedReads(store: MessageStore): RoomReads {
  let reads = byStore.get(store);
  if (!reads) byStore.set(store, reads = new RoomReads(store));
  return reads;
}

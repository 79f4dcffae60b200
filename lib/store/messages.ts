/**
 * Message history: the source of truth. A message is stored (and given the
 * room's next `seq`) before it is broadcast; clients fill any gap from here.
 *
 * @module
 */

import type { ChatMessage, ChatUser } from "../chat/protocol.ts";
import { openKv } from "./kv.ts";

/** What a sender supplies; the store adds `id`, `seq` and `ts`. */
export interface MessageDraft {
  room: string;
  user: ChatUser;
  text: string;
  clientId: string;
}

/** Result of {@link MessageStore.append}. */
export interface AppendResult {
  message: ChatMessage;
  /** True when `clientId` was seen before: the stored message is returned, nothing is written. */
  duplicate: boolean;
}

/** A page of messages in ascending `seq` order. */
export interface MessagePage {
  messages: ChatMessage[];
  /** More messages exist beyond this page in the direction asked. */
  hasMore: boolean;
}

/** A room that has messages, for the lobby. */
export interface RoomSummary {
  room: string;
  lastSeq: number;
  lastTs: number;
}

/** Storage of chat history. */
export interface MessageStore {
  /** Stores a message with the room's next `seq`; idempotent on `clientId`. */
  append(draft: MessageDraft): Promise<AppendResult>;
  /** The newest `limit` messages. */
  recent(room: string, limit: number): Promise<MessagePage>;
  /** Up to `limit` messages with `seq < before`, the newest of them. */
  before(room: string, before: number, limit: number): Promise<MessagePage>;
  /** Up to `limit` messages with `seq > after`, the oldest of them. */
  after(room: string, after: number, limit: number): Promise<MessagePage>;
  /** The room's last `seq` (0 when empty). */
  lastSeq(room: string): Promise<number>;
  /** Rooms by most recent activity. */
  rooms(limit: number): Promise<RoomSummary[]>;
  /** Whether the backing store answers. */
  ping(): Promise<boolean>;
  close(): void;
}

/** How long a `clientId` is remembered for idempotent retries. */
export const CLIENT_ID_TTL_MS = 7 * 24 * 3600 * 1000;
/** Compare-and-set attempts before an append gives up under contention. */
export const MAX_APPEND_ATTEMPTS = 64;

interface RoomHead {
  lastSeq: number;
  lastTs: number;
}

/**
 * {@link MessageStore} on Deno KV.
 *
 * Keys: `["room", room]` → {@link RoomHead}; `["msg", room, seq]` → message;
 * `["cid", room, clientId]` → seq (expires). An append is one atomic
 * check-and-set on the room head, so `seq` is gapless and strictly increasing
 * even with several processes on one KV file. Retention deletes the message
 * that falls out of the window in the same atomic write: no scans.
 */
export class KvMessageStore implements MessageStore {
  readonly #kv: Deno.Kv;
  readonly #retention: number;
  /** Per-room queue so one process never races itself on the room head. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(kv: Deno.Kv, options: { retention?: number } = {}) {
    this.#kv = kv;
    this.#retention = options.retention ?? 10_000;
  }

  /** Opens a KV store at `path` (`undefined` = Deno Deploy's KV). */
  static async open(
    path: string | undefined,
    options: { retention?: number } = {},
  ) {
    return new KvMessageStore(await openKv(path), options);
  }

  append(draft: MessageDraft): Promise<AppendResult> {
    const prev = this.#tails.get(draft.room) ?? Promise.resolve();
    const next = prev.then(
      () => this.#appendNow(draft),
      () => this.#appendNow(draft),
    );
    const tail = next.catch(() => {});
    this.#tails.set(draft.room, tail);
    tail.then(() => {
      if (this.#tails.get(draft.room) === tail) this.#tails.delete(draft.room);
    });
    return next;
  }

  async #appendNow(draft: MessageDraft): Promise<AppendResult> {
    const headKey = ["room", draft.room];
    const cidKey = ["cid", draft.room, draft.clientId];
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const [head, seen] = await this.#kv.getMany<[RoomHead, number]>([
        headKey,
        cidKey,
      ]);
      if (seen.value !== null) {
        const stored = await this.#kv.get<ChatMessage>([
          "msg",
          draft.room,
          seen.value,
        ]);
        if (stored.value) return { message: stored.value, duplicate: true };
      }
      const seq = (head.value?.lastSeq ?? 0) + 1;
      const ts = Math.max(Date.now(), head.value?.lastTs ?? 0);
      const message: ChatMessage = {
        id: crypto.randomUUID(),
        seq,
        room: draft.room,
        user: draft.user,
        text: draft.text,
        ts,
        clientId: draft.clientId,
      };
      const op = this.#kv.atomic()
        .check(head)
        .check(seen)
        .set(headKey, { lastSeq: seq, lastTs: ts } satisfies RoomHead)
        .set(["msg", draft.room, seq], message)
        .set(cidKey, seq, { expireIn: CLIENT_ID_TTL_MS });
      if (seq > this.#retention) {
        op.delete(["msg", draft.room, seq - this.#retention]);
      }
      const result = await op.commit().catch((err) => {
        // Another process or connection holds the file's write lock: a lost race.
        if (isBusy(err)) return { ok: false as const };
        throw err;
      });
      if (result.ok) return { message, duplicate: false };
      // Another process won the race: back off a little, with jitter, and retry.
      await new Promise((r) =>
        setTimeout(r, Math.random() * Math.min(50, 2 ** attempt))
      );
    }
    throw new Error(
      `append to room ${draft.room} lost ${MAX_APPEND_ATTEMPTS} races`,
    );
  }

  async #list(
    room: string,
    start: number,
    end: number,
    limit: number,
    reverse: boolean,
  ): Promise<MessagePage> {
    const messages: ChatMessage[] = [];
    const iter = this.#kv.list<ChatMessage>(
      { start: ["msg", room, start], end: ["msg", room, end] },
      { limit: limit + 1, reverse, batchSize: Math.min(limit + 1, 500) },
    );
    for await (const entry of iter) messages.push(entry.value);
    const hasMore = messages.length > limit;
    if (hasMore) messages.pop();
    if (reverse) messages.reverse();
    return { messages, hasMore };
  }

  recent(room: string, limit: number): Promise<MessagePage> {
    return this.#list(room, 0, Number.MAX_SAFE_INTEGER, limit, true);
  }

  before(room: string, before: number, limit: number): Promise<MessagePage> {
    return this.#list(room, 0, before, limit, true);
  }

  after(room: string, after: number, limit: number): Promise<MessagePage> {
    return this.#list(room, after + 1, Number.MAX_SAFE_INTEGER, limit, false);
  }

  async lastSeq(room: string): Promise<number> {
    return (await this.#kv.get<RoomHead>(["room", room])).value?.lastSeq ?? 0;
  }

  async rooms(limit: number): Promise<RoomSummary[]> {
    const all: RoomSummary[] = [];
    // Bounded: the lobby shows the most active rooms among the first ROOM_SCAN_LIMIT.
    for await (
      const e of this.#kv.list<RoomHead>({ prefix: ["room"] }, {
        limit: ROOM_SCAN_LIMIT,
      })
    ) {
      all.push({ room: String(e.key[1]), ...e.value });
    }
    return all.sort((a, b) => b.lastTs - a.lastTs).slice(0, limit);
  }

  async ping(): Promise<boolean> {
    try {
      await this.#kv.get(["room", ""]);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#kv.close();
  }
}

/** Whether `err` is SQLite's "database is locked" (another writer on the file). */
function isBusy(err: unknown): boolean {
  return err instanceof Error &&
    /database is locked|SQLITE_BUSY/i.test(err.message);
}

/** Rooms read for the lobby listing. */
export const ROOM_SCAN_LIMIT = 1_000;

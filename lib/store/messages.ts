/**
 * Message history on Deno KV: {@link MessageStore} with gapless `seq`s,
 * group commits, the rooms-by-activity index (`activity.ts`) and retention
 * by count and age (`retention.ts`).
 *
 * @module
 */

import type { ChatMessage } from "../chat/types.ts";
import {
  activityKey,
  activityMoves,
  indexActivity,
  listByActivity,
  type RoomHead,
} from "./activity.ts";
import { applyEventKv, listSince, logKeys, withQuotes } from "./events.ts";
import { getManyChunked, isBusy, LOCAL_MAX_CHECKS } from "./kv.ts";
import { RetentionSweeper } from "./retention.ts";
import type {
  AppendResult,
  EventDraft,
  EventResult,
  LogPage,
  MessageDraft,
  MessagePage,
  MessageStore,
  RoomSummary,
} from "./types.ts";

/**
 * Most appends written by one atomic operation (group commit). Deno KV's
 * other limits per atomic operation (checked on Deno 2.9: 100 checks, 1,000
 * mutations, 800 KiB of keys and values, 80 KiB of keys written) then hold:
 * an append is 2 sets (message, clientId) and at most 1 delete (count-only
 * retention), a room at most 3 (head, index key set and delete), so at most
 * 64 × 3 + 50 × 3 = 342 mutations; keys are under 300 bytes (room ≤ 64,
 * clientId ≤ 64 ASCII characters), so under 35 KiB.
 */
export const MAX_GROUP_COMMIT = 64;
/**
 * Text bytes per group commit: with the rest of each message (user, picture
 * URL: a few KiB at most) well under KV's 800 KiB per atomic operation.
 */
const MAX_GROUP_COMMIT_BYTES = 256 * 1024;
/** Room heads remembered for optimistic appends (least recently used dropped first). */
export const MAX_CACHED_HEADS = 10_000;

interface QueuedAppend {
  draft: MessageDraft;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** How long a `clientId` is remembered for idempotent retries. */
export const CLIENT_ID_TTL_MS = 7 * 24 * 3600 * 1000;
/** Compare-and-set attempts before an append gives up under contention. */
export const MAX_APPEND_ATTEMPTS = 64;

/** A day in milliseconds. */
const DAY_MS = 24 * 3600 * 1000;

/** How {@link KvMessageStore} keeps history. */
export interface KvMessageStoreOptions {
  /** Messages kept per room (`HISTORY_RETENTION`), default 10,000. */
  retention?: number;
  /**
   * Days a message is kept even beyond `retention` (`HISTORY_MIN_AGE_DAYS`),
   * default 7; 0 deletes by count alone, in the append's own write.
   */
  minAgeDays?: number;
  /** The clock for messages' `ts` and retention's age (tests move it). */
  now?: () => number;
  /** Checks per atomic write the database takes (`maxChecksFor` in `kv.ts`). */
  maxChecks?: number;
}

/**
 * {@link MessageStore} on Deno KV.
 *
 * Keys: `["room", room]` → {@link RoomHead}; `["msg", room, seq]` → message;
 * `["cid", room, userId, clientId]` → seq (expires);
 * `["rooms_by_activity", second, room]` (see `activity.ts`). An
 * append is one atomic check-and-set on the room head, so `seq` is gapless
 * and strictly increasing even with several processes on one KV file, and
 * the activity index moves in the same write. Retention: see `retention.ts`
 * (by count alone, the log entry, message or event, that falls out of the
 * window is deleted in the same write). Edits, deletes and reactions: see
 * `events.ts`.
 */
export class KvMessageStore implements MessageStore {
  readonly #kv: Deno.Kv;
  readonly #retention: number;
  readonly #maxChecks: number;
  readonly #now: () => number;
  /** The background sweep, or null when retention is by count alone. */
  readonly #sweeper: RetentionSweeper | null;
  /** Appends waiting for the next group commit. */
  #queue: QueuedAppend[] = [];
  #writing = false;
  /** Room heads as this store last wrote or read them (most recent last). */
  readonly #heads = new Map<string, Deno.KvEntryMaybe<RoomHead>>();

  /**
   * `maxChecks`: checks the database takes per atomic write (one per append
   * plus one per room; see `maxChecksFor` in `kv.ts`), default
   * {@link LOCAL_MAX_CHECKS}.
   */
  constructor(kv: Deno.Kv, options: KvMessageStoreOptions = {}) {
    this.#kv = kv;
    this.#retention = options.retention ?? 10_000;
    this.#maxChecks = options.maxChecks ?? LOCAL_MAX_CHECKS;
    this.#now = options.now ?? Date.now;
    const minAgeDays = options.minAgeDays ?? 7;
    this.#sweeper = minAgeDays > 0
      ? new RetentionSweeper(kv, {
        count: this.#retention,
        minAgeMs: minAgeDays * DAY_MS,
      }, this.#now)
      : null;
  }

  /**
   * Indexes the rooms of a database written before the activity index
   * existed (once per database; see `indexActivity`). Called on open.
   */
  async migrate(): Promise<void> {
    await indexActivity(this.#kv);
  }

  /**
   * Runs a retention pass now (they also run by themselves after appends);
   * returns the messages deleted. Nothing to do when retention is by count
   * alone.
   */
  prune(): Promise<number> {
    return this.#sweeper?.prune() ?? Promise.resolve(0);
  }

  /** Stops the background retention passes (the database is about to close). */
  close(): void {
    this.#sweeper?.close();
  }

  /**
   * Queues `draft`. While one atomic write is in flight, later appends wait
   * and then go together in the next one (group commit): KV (SQLite) has one
   * writer, so one commit for many messages is what lets storage keep up
   * with the broadcast path. Order is kept: a room's messages get their
   * `seq` in the order `append` was called.
   */
  async append(draft: MessageDraft): Promise<AppendResult> {
    const result = await new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ draft, resolve, reject });
      this.#pump();
    });
    if (result.message.replyTo === undefined) return result;
    const [message] = await withQuotes(this.#kv, draft.room, [result.message]);
    return { ...result, message };
  }

  async applyEvent(draft: EventDraft): Promise<EventResult> {
    const { result, head } = await applyEventKv(this.#kv, draft, {
      // With a sweep, retention is its job; by count alone, the event's own write.
      retention: this.#sweeper === null ? this.#retention : null,
      now: this.#now,
    });
    if (head) {
      this.#rememberHead(draft.room, head);
      this.#sweeper?.note(draft.room, head.value.lastSeq);
    }
    return result;
  }

  since(room: string, after: number, limit: number): Promise<LogPage> {
    return listSince(this.#kv, room, after, limit);
  }

  async get(room: string, seq: number): Promise<ChatMessage | null> {
    const entry = await this.#kv.get<ChatMessage>(["msg", room, seq]);
    return entry.value
      ? (await withQuotes(this.#kv, room, [entry.value]))[0]
      : null;
  }

  async #pump(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(
          0,
          groupCommitSize(this.#queue, this.#maxChecks),
        );
        try {
          await this.#commit(batch);
        } catch (err) {
          for (const item of batch) item.reject(err);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Writes `batch` in one atomic operation, retrying it whole when another
   * writer wins. The first attempt trusts the room heads this store last
   * wrote (their versionstamps are checked by the commit) and checks that no
   * `clientId` key exists instead of reading them: the common case is then a
   * single KV round trip. A failed check (another process wrote the room, or
   * a client retried a stored message) falls back to reading everything.
   */
  async #commit(batch: QueuedAppend[]): Promise<void> {
    const rooms = [...new Set(batch.map((b) => b.draft.room))];
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const optimistic = attempt === 0 &&
        rooms.every((room) => this.#heads.has(room));
      let heads: Map<string, Deno.KvEntryMaybe<RoomHead>>;
      let seen: Deno.KvEntryMaybe<number>[];
      if (optimistic) {
        heads = new Map(rooms.map((room) => [room, this.#heads.get(room)!]));
        seen = batch.map(({ draft }) => ({
          key: ["cid", draft.room, draft.user.id, draft.clientId],
          value: null,
          versionstamp: null,
        }));
      } else {
        const entries = await getManyChunked(this.#kv, [
          ...rooms.map((room) => ["room", room]),
          ...batch.map((
            b,
          ) => ["cid", b.draft.room, b.draft.user.id, b.draft.clientId]),
        ]);
        heads = new Map(
          rooms.map((
            room,
            i,
          ) => [room, entries[i] as Deno.KvEntryMaybe<RoomHead>]),
        );
        seen = entries.slice(rooms.length) as Deno.KvEntryMaybe<number>[];
      }
      const next = new Map(rooms.map((room) => {
        const head = heads.get(room)!.value;
        return [room, {
          lastSeq: head?.lastSeq ?? 0,
          lastTs: head?.lastTs ?? 0,
        }];
      }));
      const op = this.#kv.atomic();
      for (const head of heads.values()) op.check(head);
      const outcome: ({ message: ChatMessage } | { storedSeq: number } | {
        sameAs: number;
      })[] = [];
      const fresh = new Map<string, number>();
      batch.forEach(({ draft }, i) => {
        const key =
          `${draft.room}\u0000${draft.user.id}\u0000${draft.clientId}`;
        if (seen[i].value !== null) {
          return outcome.push({ storedSeq: seen[i].value! });
        }
        if (fresh.has(key)) return outcome.push({ sameAs: fresh.get(key)! });
        fresh.set(key, i);
        const head = next.get(draft.room)!;
        head.lastSeq++;
        head.lastTs = Math.max(this.#now(), head.lastTs);
        const message: ChatMessage = {
          id: crypto.randomUUID(),
          seq: head.lastSeq,
          room: draft.room,
          user: draft.user,
          text: draft.text,
          ts: head.lastTs,
          clientId: draft.clientId,
        };
        if (draft.replyTo !== undefined) message.replyTo = draft.replyTo;
        op.check(seen[i])
          .set(["msg", draft.room, message.seq], message)
          .set(
            ["cid", draft.room, draft.user.id, draft.clientId],
            message.seq,
            {
              expireIn: CLIENT_ID_TTL_MS,
            },
          );
        if (this.#sweeper === null && message.seq > this.#retention) {
          for (
            const key of logKeys(draft.room, message.seq - this.#retention)
          ) {
            op.delete(key);
          }
        }
        outcome.push({ message });
      });
      for (const [room, head] of next) {
        const before = heads.get(room)!.value;
        if (head.lastSeq !== (before?.lastSeq ?? 0)) {
          op.set(["room", room], head);
          // The head check above makes `before` the current head, so its index key is the one to move.
          if (activityMoves(before?.lastTs ?? null, head.lastTs)) {
            if (before) op.delete(activityKey(before.lastTs, room));
            op.set(activityKey(head.lastTs, room), true);
          }
        }
      }
      const result = await op.commit().catch((err) => {
        // Another process or connection holds the file's write lock: a lost race.
        if (isBusy(err)) return { ok: false as const };
        throw err;
      });
      if (result.ok) {
        for (const [room, head] of next) {
          const before = heads.get(room)!;
          this.#rememberHead(
            room,
            head.lastSeq === (before.value?.lastSeq ?? 0) ? before : {
              key: ["room", room],
              value: head,
              versionstamp: result.versionstamp,
            },
          );
          this.#sweeper?.note(room, head.lastSeq);
        }
        await this.#settle(batch, outcome);
        return;
      }
      for (const room of rooms) this.#heads.delete(room);
      // A stale head or a known clientId: read and retry at once. Another writer won the race: back off a little, with jitter.
      if (optimistic) continue;
      await new Promise((r) =>
        setTimeout(r, Math.random() * Math.min(50, 2 ** attempt))
      );
    }
    throw new Error(`append lost ${MAX_APPEND_ATTEMPTS} races`);
  }

  #rememberHead(room: string, head: Deno.KvEntryMaybe<RoomHead>): void {
    if (head.versionstamp === null) return;
    this.#heads.delete(room);
    this.#heads.set(room, head);
    // Oldest first: Map keeps insertion order.
    if (this.#heads.size > MAX_CACHED_HEADS) {
      this.#heads.delete(this.#heads.keys().next().value!);
    }
  }

  /** Resolves each append of a committed batch; retries of stored messages get the stored copy. */
  async #settle(
    batch: QueuedAppend[],
    outcome:
      ({ message: ChatMessage } | { storedSeq: number } | { sameAs: number })[],
  ): Promise<void> {
    const storedKeys = batch.flatMap((b, i) => {
      const o = outcome[i];
      return "storedSeq" in o ? [["msg", b.draft.room, o.storedSeq]] : [];
    });
    const stored = storedKeys.length
      ? await getManyChunked(this.#kv, storedKeys)
      : [];
    let s = 0;
    batch.forEach((item, i) => {
      const o = outcome[i];
      if ("message" in o) {
        return item.resolve({ message: o.message, duplicate: false });
      }
      if ("sameAs" in o) {
        const first = outcome[o.sameAs] as { message: ChatMessage };
        return item.resolve({ message: first.message, duplicate: true });
      }
      const message = stored[s++].value as ChatMessage | null;
      // The original fell out of retention: store it again rather than lose it.
      if (message) item.resolve({ message, duplicate: true });
      else this.#requeueWithoutIndex(item);
    });
  }

  #requeueWithoutIndex(item: QueuedAppend): void {
    this.#kv.delete([
      "cid",
      item.draft.room,
      item.draft.user.id,
      item.draft.clientId,
    ])
      .then(() => {
        this.#queue.push(item);
        this.#pump();
      }, item.reject);
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
    return { messages: await withQuotes(this.#kv, room, messages), hasMore };
  }

  recent(room: string, limit: number): Promise<MessagePage> {
    return this.#list(room, 0, Number.MAX_SAFE_INTEGER, limit, true);
  }

  before(room: string, before: number, limit: number): Promise<MessagePage> {
    // `+ 0` turns -0 into 0 (as a KV key part -0 sorts below 0).
    if (before <= 0) return Promise.resolve({ messages: [], hasMore: false });
    return this.#list(room, 0, before + 0, limit, true);
  }

  after(room: string, after: number, limit: number): Promise<MessagePage> {
    // Nothing follows the largest seq, and the range below would be empty.
    if (after >= Number.MAX_SAFE_INTEGER - 1) {
      return Promise.resolve({ messages: [], hasMore: false });
    }
    return this.#list(
      room,
      Math.max(0, after) + 1,
      Number.MAX_SAFE_INTEGER,
      limit,
      false,
    );
  }

  async lastSeq(room: string): Promise<number> {
    return (await this.#kv.get<RoomHead>(["room", room])).value?.lastSeq ?? 0;
  }

  rooms(limit: number): Promise<RoomSummary[]> {
    return listByActivity(this.#kv, limit);
  }

  async summaries(rooms: readonly string[]): Promise<RoomSummary[]> {
    const heads = await getManyChunked<RoomHead>(
      this.#kv,
      rooms.map((room) => ["room", room]),
    );
    return rooms.flatMap((room, i) => {
      const head = heads[i].value;
      return head ? [{ room, ...head }] : [];
    });
  }

  async ping(): Promise<boolean> {
    try {
      await this.#kv.get(["room", ""]);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * How many appends from the front of `queue` fit in one atomic operation:
 * at most {@link MAX_GROUP_COMMIT}, one check per append plus one per room
 * within `maxChecks` (the database's limit), and their texts within
 * {@link MAX_GROUP_COMMIT_BYTES}. Always at least one.
 */
export function groupCommitSize(
  queue: readonly { draft: MessageDraft }[],
  maxChecks: number = LOCAL_MAX_CHECKS,
): number {
  const rooms = new Set<string>();
  let bytes = 0;
  let n = 0;
  for (const { draft } of queue) {
    if (n === MAX_GROUP_COMMIT) break;
    const moreRooms = rooms.has(draft.room) ? 0 : 1;
    // UTF-16 units × 3 bounds the UTF-8 size without encoding.
    const size = draft.text.length * 3;
    if (
      n > 0 &&
      (n + 1 + rooms.size + moreRooms > maxChecks ||
        bytes + size > MAX_GROUP_COMMIT_BYTES)
    ) break;
    rooms.add(draft.room);
    bytes += size;
    n++;
  }
  return Math.max(1, n);
}

/**
 * Message history on Deno KV: {@link MessageStore} with gapless `seq`s,
 * group commits, the rooms-by-activity index (`activity.ts`) and retention
 * by count and age (`retention.ts`).
 *
 * @module
 */

import { LruMap } from "../lru.ts";
import type { ChatMessage } from "../chat/types.ts";
import {
  activityKey,
  activityMoves,
  indexActivity,
  listByActivity,
  type RoomHead,
} from "./activity.ts";
import { checkEvent, foldEvent } from "../chat/events.ts";
import type { Refusal } from "../chat/protocol.ts";
import type { RoomEvent } from "../chat/types.ts";
import {
  EVENT_CLIENT_ID_TTL_MS,
  EVENT_TARGET_BYTES,
  eventIdKey,
  listSince,
  logKeys,
  storedEvent,
  withEditTexts,
  withQuotes,
} from "./events.ts";
import { getManyChunked, isBusy, isTooLarge, LOCAL_MAX_CHECKS } from "./kv.ts";
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
 * an append is 2 sets (message, clientId) and at most 2 deletes (count-only
 * retention: the log entry falling out, its message or event key), an event
 * 1 set more (its target), a room at most 3 (head, index key set and
 * delete), so at most 64 × 5 + 36 × 3 = 428 mutations; keys are under 300
 * bytes (room ≤ 64, clientId ≤ 64 ASCII characters). What a batch's targets
 * weigh is only estimated: a write KV refuses for its size is split (see
 * `#commitApart`).
 */
export const MAX_GROUP_COMMIT = 64;
/**
 * Text bytes per group commit: with the rest of each message (user, picture
 * URL: a few KiB at most) well under KV's 800 KiB per atomic operation.
 */
const MAX_GROUP_COMMIT_BYTES = 256 * 1024;
/** Room heads remembered for optimistic appends (least recently used dropped first). */
export const MAX_CACHED_HEADS = 10_000;
/**
 * Messages this store wrote last, remembered as reaction, edit and delete
 * targets so that a batch with events needs no read in the common case
 * (people react to what just arrived); the commit checks their
 * versionstamps, so a stale one costs a retry, never a wrong fold or
 * refusal. 1,000 messages of typical size are well under 1 MiB (at most
 * 16 MiB: 4,000 characters each). Measured with `bench/store.ts` (one room, 10 %
 * reactions): see the commit that added it.
 */
export const MAX_CACHED_TARGETS = 1_000;

/**
 * A write waiting for the next group commit: a message to append, or an
 * event (edit, delete, reaction) to fold into its target and append. Both
 * take the room's next `seq`, so both go through the one writer.
 */
type Queued =
  & (
    | {
      kind: "message";
      draft: MessageDraft;
      resolve: (result: AppendResult) => void;
      reject: (err: unknown) => void;
    }
    | {
      kind: "event";
      draft: EventDraft;
      resolve: (result: EventResult) => void;
      reject: (err: unknown) => void;
    }
  )
  & {
    /**
     * A retry whose `clientId` names this `seq`, found gone (retention took
     * the original): written again, in a commit that checks the `clientId`
     * key still names it, so two processes retrying at once write it once.
     */
    missing?: number;
  };

/** What a committed batch did with each of its writes, in batch order. */
type Outcome =
  | { kind: "message"; message: ChatMessage }
  | { kind: "event"; event: RoomEvent }
  /** Its `clientId` was stored before, as this `seq`: nothing written. */
  | { kind: "stored"; seq: number }
  /** The same `clientId` as the write at `index` of this batch. */
  | { kind: "same"; index: number }
  | { kind: "refused"; refusal: Refusal };

/** A message some event of the batch targets, as read and as folded so far. */
interface Target {
  entry: Deno.KvEntryMaybe<ChatMessage>;
  /** Null when there is none, or retention removes it in this batch. */
  value: ChatMessage | null;
  /** An event of the batch changed it: it is written back (every target is checked against `entry`). */
  changed: boolean;
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
  /** Appends and events waiting for the next group commit. */
  #queue: Queued[] = [];
  #writing = false;
  /** Room heads as this store last wrote or read them (most recent last). */
  readonly #heads = new LruMap<string, Deno.KvEntryMaybe<RoomHead>>(
    MAX_CACHED_HEADS,
  );
  /** Messages as this store last wrote them, by `room\0seq` (see {@link MAX_CACHED_TARGETS}). */
  readonly #targets = new LruMap<string, Deno.KvEntry<ChatMessage>>(
    MAX_CACHED_TARGETS,
  );

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
      this.#queue.push({ kind: "message", draft, resolve, reject });
      this.#pump();
    });
    if (result.message.replyTo === undefined) return result;
    const [message] = await withQuotes(this.#kv, draft.room, [result.message]);
    return { ...result, message };
  }

  /**
   * Queues `draft` like an append: the room's messages and events share one
   * writer, so an event never races the group commit for the room head.
   * Measured (`deno task bench --reactions=10`, 2 cores): as a separate
   * compare-and-set retried against the group commit, 10 % reactions held the
   * ramp to 34,800 deliveries/s (69,900 without) and past it reactions gave
   * up after 64 lost races.
   */
  applyEvent(draft: EventDraft): Promise<EventResult> {
    return new Promise<EventResult>((resolve, reject) => {
      this.#queue.push({ kind: "event", draft, resolve, reject });
      this.#pump();
    });
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
        await this.#commitApart(batch);
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Commits `batch`; when KV refuses the write for its size (a target grown
   * past 64 KiB by its reactions, or events' targets together past 800 KiB:
   * `groupCommitSize` only estimates targets), commits its halves in turn,
   * so a write too large on its own fails alone, not the writes batched
   * with it.
   */
  async #commitApart(batch: Queued[]): Promise<void> {
    try {
      await this.#commit(batch);
    } catch (err) {
      if (batch.length === 1 || !isTooLarge(err)) {
        for (const item of batch) item.reject(err);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.#commitApart(batch.slice(0, half));
      await this.#commitApart(batch.slice(half));
    }
  }

  /**
   * Writes `batch` in one atomic operation, retrying it whole when another
   * writer wins. The first attempt trusts the room heads this store last
   * wrote (their versionstamps are checked by the commit) and checks that no
   * `clientId` key exists instead of reading them: a batch of messages is
   * then a single KV round trip, and one with events one read of their
   * targets more. A failed check (another process wrote the room, or a
   * client retried a stored write) falls back to reading everything.
   */
  async #commit(batch: Queued[]): Promise<void> {
    const rooms = [...new Set(batch.map((b) => b.draft.room))];
    const idKeys = batch.map(idKeyOf);
    const targetKeys = new Map<string, Deno.KvKey>();
    for (const item of batch) {
      if (item.kind !== "event") continue;
      const { room, op } = item.draft;
      targetKeys.set(`${room}\u0000${op.target}`, ["msg", room, op.target]);
    }
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const optimistic = attempt === 0 &&
        rooms.every((room) => this.#heads.has(room));
      // Optimistic: the targets this store wrote last need no read either.
      const toRead = [...targetKeys].filter(([key]) =>
        !(optimistic && this.#targets.has(key))
      );
      const entries = await getManyChunked(this.#kv, [
        ...(optimistic ? [] : rooms.map((room) => ["room", room])),
        ...(optimistic ? [] : idKeys),
        ...toRead.map(([, key]) => key),
      ]);
      let heads: Map<string, Deno.KvEntryMaybe<RoomHead>>;
      let seen: Deno.KvEntryMaybe<number>[];
      if (optimistic) {
        heads = new Map(rooms.map((room) => [room, this.#heads.get(room)!]));
        seen = idKeys.map((key) => ({ key, value: null, versionstamp: null }));
      } else {
        heads = new Map(
          rooms.map((
            room,
            i,
          ) => [room, entries[i] as Deno.KvEntryMaybe<RoomHead>]),
        );
        seen = entries.slice(
          rooms.length,
          rooms.length + batch.length,
        ) as Deno.KvEntryMaybe<number>[];
      }
      const read = entries.slice(entries.length - toRead.length);
      const targets = new Map<string, Target>();
      toRead.forEach(([key], i) => {
        const entry = read[i] as Deno.KvEntryMaybe<ChatMessage>;
        targets.set(key, { entry, value: entry.value, changed: false });
      });
      for (const key of targetKeys.keys()) {
        const entry = this.#targets.get(key);
        if (!targets.has(key) && entry) {
          targets.set(key, { entry, value: entry.value, changed: false });
        }
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
      // By count alone, the log entry falling out of the window goes in this write.
      const dropOut = (room: string, seq: number) => {
        if (this.#sweeper !== null || seq <= this.#retention) return;
        const gone = seq - this.#retention;
        for (const key of logKeys(room, gone)) op.delete(key);
        const target = targets.get(`${room}\u0000${gone}`);
        if (target) Object.assign(target, { value: null, changed: false });
      };
      const outcome: Outcome[] = [];
      const fresh = new Map<string, number>();
      batch.forEach((item, i) => {
        const { draft } = item;
        const key =
          `${item.kind}\u0000${draft.room}\u0000${draft.user.id}\u0000${draft.clientId}`;
        // A write found gone is written again over its clientId key (checked as read).
        if (seen[i].value !== null && seen[i].value !== item.missing) {
          return outcome.push({ kind: "stored", seq: seen[i].value! });
        }
        if (fresh.has(key)) {
          return outcome.push({ kind: "same", index: fresh.get(key)! });
        }
        fresh.set(key, i);
        const head = next.get(draft.room)!;
        const now = this.#now();
        if (item.kind === "event") {
          // A refusal rests on the clientId being new too: a retry of a
          // stored event gets it again, even once its target refuses more.
          op.check(seen[i]);
          const { op: change, editWindowMs, moderator } = item.draft;
          const target = targets.get(`${draft.room}\u0000${change.target}`)!;
          const refusal = checkEvent(
            target.value,
            change,
            draft.user,
            now,
            editWindowMs,
            moderator,
          );
          if (refusal) return outcome.push({ kind: "refused", refusal });
          head.lastSeq++;
          head.lastTs = Math.max(now, head.lastTs);
          const event = {
            ...change,
            seq: head.lastSeq,
            room: draft.room,
            user: draft.user,
            ts: head.lastTs,
            clientId: draft.clientId,
          } as RoomEvent;
          target.value = foldEvent(target.value!, event);
          target.changed = true;
          op.set(["ev", draft.room, event.seq], storedEvent(event))
            .set(idKeys[i], event.seq, { expireIn: EVENT_CLIENT_ID_TTL_MS });
          dropOut(draft.room, event.seq);
          return outcome.push({ kind: "event", event });
        }
        head.lastSeq++;
        head.lastTs = Math.max(now, head.lastTs);
        const message: ChatMessage = {
          id: crypto.randomUUID(),
          seq: head.lastSeq,
          room: draft.room,
          user: draft.user,
          text: item.draft.text,
          ts: head.lastTs,
          clientId: draft.clientId,
        };
        if (item.draft.replyTo !== undefined) {
          message.replyTo = item.draft.replyTo;
        }
        op.check(seen[i])
          .set(["msg", draft.room, message.seq], message)
          .set(idKeys[i], message.seq, { expireIn: CLIENT_ID_TTL_MS });
        dropOut(draft.room, message.seq);
        outcome.push({ kind: "message", message });
      });
      // Every target is checked, not only those written back: a refusal read
      // from a stale one (its cached reactions, say) would be wrong too.
      for (const target of targets.values()) {
        op.check(target.entry);
        if (target.changed) op.set(target.entry.key, target.value);
      }
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
        this.#rememberTargets(outcome, targets, result.versionstamp);
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
      for (const key of targetKeys.keys()) this.#targets.delete(key);
      // A stale head or a known clientId: read and retry at once. Another writer won the race: back off a little, with jitter.
      if (optimistic) continue;
      await new Promise((r) =>
        setTimeout(r, Math.random() * Math.min(50, 2 ** attempt))
      );
    }
    throw new Error(`append lost ${MAX_APPEND_ATTEMPTS} races`);
  }

  /**
   * Remembers the messages a commit wrote (new ones and folded targets) at
   * its versionstamp, and forgets the targets it removed (retention).
   */
  #rememberTargets(
    outcome: Outcome[],
    targets: Map<string, Target>,
    versionstamp: string,
  ): void {
    const remember = (key: string, value: ChatMessage) =>
      this.#targets.set(key, {
        key: ["msg", value.room, value.seq],
        value,
        versionstamp,
      });
    for (const o of outcome) {
      if (o.kind === "message") {
        remember(`${o.message.room}\u0000${o.message.seq}`, o.message);
      }
    }
    for (const [key, target] of targets) {
      if (target.changed && target.value) remember(key, target.value);
      else if (target.value === null) this.#targets.delete(key);
    }
  }

  #rememberHead(room: string, head: Deno.KvEntryMaybe<RoomHead>): void {
    if (head.versionstamp === null) return;
    this.#heads.set(room, head);
  }

  /**
   * Resolves each write of a committed batch; retries of stored writes get
   * the stored copy, and one whose original fell out of retention is written
   * again rather than lost.
   */
  async #settle(batch: Queued[], outcome: Outcome[]): Promise<void> {
    const storedKeys = batch.flatMap((item, i) => {
      const o = outcome[i];
      if (o.kind !== "stored") return [];
      return [[item.kind === "message" ? "msg" : "ev", item.draft.room, o.seq]];
    });
    const stored = storedKeys.length
      ? await getManyChunked(this.#kv, storedKeys)
      : [];
    let s = 0;
    for (const [i, item] of batch.entries()) {
      const o = outcome[i];
      const first = o.kind === "same" ? outcome[o.index] : o;
      if (first.kind === "stored") {
        const value = stored[s++].value;
        if (value === null) {
          // The original fell out of retention: store it again rather than lose it.
          this.#queue.push({ ...item, missing: first.seq });
          this.#pump();
          continue;
        }
        if (item.kind === "message") {
          item.resolve({ message: value as ChatMessage, duplicate: true });
        } else {
          const [event] = await withEditTexts(this.#kv, item.draft.room, [
            value as RoomEvent,
          ]);
          item.resolve({ ok: true, event, duplicate: true });
        }
        continue;
      }
      const duplicate = o.kind === "same";
      switch (first.kind) {
        case "message":
          if (item.kind === "message") {
            item.resolve({ message: first.message, duplicate });
          }
          break;
        case "event":
          if (item.kind === "event") {
            item.resolve({ ok: true, event: first.event, duplicate });
          }
          break;
        case "refused":
          if (item.kind === "event") item.resolve(first.refusal);
          break;
        case "same":
          break;
        default: {
          const _exhaustive: never = first;
        }
      }
    }
  }

  /** Messages with `start <= seq < end` as stored (no quotes folded), up to `limit`, ascending. */
  async #listRaw(
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

  async #list(
    room: string,
    start: number,
    end: number,
    limit: number,
    reverse: boolean,
  ): Promise<MessagePage> {
    const page = await this.#listRaw(room, start, end, limit, reverse);
    return {
      ...page,
      messages: await withQuotes(this.#kv, room, page.messages),
    };
  }

  recent(room: string, limit: number): Promise<MessagePage> {
    return this.#list(room, 0, Number.MAX_SAFE_INTEGER, limit, true);
  }

  before(room: string, before: number, limit: number): Promise<MessagePage> {
    // `+ 0` turns -0 into 0 (as a KV key part -0 sorts below 0).
    if (before <= 0) return Promise.resolve({ messages: [], hasMore: false });
    return this.#list(room, 0, before + 0, limit, true);
  }

  async after(
    room: string,
    after: number,
    limit: number,
  ): Promise<MessagePage> {
    const page = await this.#afterRaw(room, after, limit);
    return {
      ...page,
      messages: await withQuotes(this.#kv, room, page.messages),
    };
  }

  async countAfter(room: string, after: number, max: number): Promise<number> {
    // Counting needs no replies' quotes: the range read alone.
    const { messages } = await this.#afterRaw(room, after, max);
    return messages.filter((m) => !m.deleted).length;
  }

  /** Up to `limit` messages with `seq > after`, as stored, ascending. */
  #afterRaw(room: string, after: number, limit: number): Promise<MessagePage> {
    // Nothing follows the largest seq, and the range below would be empty.
    if (after >= Number.MAX_SAFE_INTEGER - 1) {
      return Promise.resolve({ messages: [], hasMore: false });
    }
    return this.#listRaw(
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

/** The key that makes a queued write idempotent. */
function idKeyOf(item: Queued): Deno.KvKey {
  const { draft } = item;
  return item.kind === "message"
    ? ["cid", draft.room, draft.user.id, draft.clientId]
    : eventIdKey(item.draft);
}

/**
 * How many writes from the front of `queue` fit in one atomic operation: at
 * most {@link MAX_GROUP_COMMIT}, their checks within `maxChecks` (the
 * database's limit: one per message, two per event — its `clientId` and its
 * target — and one per room), and their bytes within
 * {@link MAX_GROUP_COMMIT_BYTES} (a message's text; an event's text and its
 * rewritten target, {@link EVENT_TARGET_BYTES}). Always at least one.
 */
export function groupCommitSize(
  queue: readonly { draft: MessageDraft | EventDraft }[],
  maxChecks: number = LOCAL_MAX_CHECKS,
): number {
  const rooms = new Set<string>();
  let bytes = 0;
  let checks = 0;
  let n = 0;
  for (const { draft } of queue) {
    if (n === MAX_GROUP_COMMIT) break;
    const moreRooms = rooms.has(draft.room) ? 0 : 1;
    const event = "op" in draft;
    const text = event
      ? (draft.op.kind === "edit" ? draft.op.text?.length ?? 0 : 0)
      : draft.text.length;
    // UTF-16 units × 3 bounds the UTF-8 size without encoding.
    const size = text * 3 + (event ? EVENT_TARGET_BYTES : 0);
    const more = (event ? 2 : 1) + moreRooms;
    if (
      n > 0 &&
      (checks + more > maxChecks || bytes + size > MAX_GROUP_COMMIT_BYTES)
    ) break;
    rooms.add(draft.room);
    bytes += size;
    checks += more;
    n++;
  }
  return Math.max(1, n);
}

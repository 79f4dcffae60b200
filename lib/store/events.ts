/**
 * The room log's events on Deno KV: an edit, delete or reaction is checked
 * against its target, folded into it and appended with the room's next `seq`
 * in ONE atomic write (checked on the room head, the target and the
 * idempotency key), and the reads that return the log (`since`) or folded
 * messages with their replies' quotes. Used by `KvMessageStore`.
 *
 * Keys: `["ev", room, seq]` → the event (an edit without its text: the text
 * lives only in the target, so deleting the target erases every version);
 * `["ecid", room, userId, clientId]` → seq (expires).
 *
 * @module
 */

import { checkEvent, foldEvent, quoteOf } from "../chat/events.ts";
import { activityKey, activityMoves, type RoomHead } from "./activity.ts";
import type { ChatMessage, RoomEvent } from "../chat/types.ts";
import { getManyChunked, isBusy } from "./kv.ts";
import type { EventDraft, EventResult, LogPage } from "./types.ts";

/** How long an event's `clientId` is remembered for idempotent retries (as a message's). */
export const EVENT_CLIENT_ID_TTL_MS = 7 * 24 * 3600 * 1000;
/** Compare-and-set attempts before an event gives up under contention. */
export const MAX_EVENT_ATTEMPTS = 64;

/** What {@link applyEventKv} needs besides the draft. */
export interface ApplyOptions {
  /**
   * Log entries (messages and events) kept per room, counted by `seq`, when
   * retention is by count alone (the entry falling out goes in this write);
   * null when the retention sweep deletes them.
   */
  retention: number | null;
  /** The clock. */
  now: () => number;
}

/**
 * Applies `draft` to its target and appends it, atomically; a retry of a
 * stored `clientId` returns the stored event. Also returns the room head it
 * wrote, so the caller's cache of heads stays current.
 */
export async function applyEventKv(
  kv: Deno.Kv,
  draft: EventDraft,
  options: ApplyOptions,
): Promise<{ result: EventResult; head?: Deno.KvEntry<RoomHead> }> {
  const { room, user, clientId, op } = draft;
  const cidKey = ["ecid", room, user.id, clientId];
  for (let attempt = 0; attempt < MAX_EVENT_ATTEMPTS; attempt++) {
    const [headEntry, targetEntry, cid] = await kv.getMany<
      [RoomHead, ChatMessage, number]
    >([["room", room], ["msg", room, op.target], cidKey]);
    if (cid.value !== null) {
      const stored = await kv.get<RoomEvent>(["ev", room, cid.value]);
      if (stored.value) {
        const [event] = await withEditTexts(kv, room, [stored.value]);
        return { result: { ok: true, event, duplicate: true } };
      }
    }
    const target = targetEntry.value;
    const now = options.now();
    const refused = checkEvent(
      target,
      op,
      user,
      now,
      draft.editWindowMs,
      draft.moderator,
    );
    if (refused) return { result: refused };
    const before = headEntry.value;
    const head = before ?? { lastSeq: 0, lastTs: 0 };
    const next = {
      lastSeq: head.lastSeq + 1,
      lastTs: Math.max(now, head.lastTs),
    };
    const event = {
      ...op,
      seq: next.lastSeq,
      room,
      user,
      ts: next.lastTs,
      clientId,
    } as RoomEvent;
    const folded = foldEvent(target!, event);
    // An edit's text is kept in its target only (see the module doc).
    const stored = event.kind === "edit"
      ? (({ text: _t, ...rest }) => rest)(event)
      : event;
    const write = kv.atomic()
      .check(headEntry, targetEntry, cid)
      .set(["room", room], next)
      .set(["msg", room, op.target], folded)
      .set(["ev", room, event.seq], stored)
      .set(cidKey, event.seq, { expireIn: EVENT_CLIENT_ID_TTL_MS });
    // The rooms-by-activity index moves with the head, as an append moves it.
    if (activityMoves(before?.lastTs ?? null, next.lastTs)) {
      if (before) write.delete(activityKey(before.lastTs, room));
      write.set(activityKey(next.lastTs, room), true);
    }
    if (options.retention !== null && event.seq > options.retention) {
      for (const key of logKeys(room, event.seq - options.retention)) {
        write.delete(key);
      }
    }
    const committed = await write.commit().catch((err) => {
      if (isBusy(err)) return { ok: false as const };
      throw err;
    });
    if (committed.ok) {
      return {
        result: { ok: true, event, duplicate: false },
        head: {
          key: ["room", room],
          value: next,
          versionstamp: committed.versionstamp,
        },
      };
    }
    await new Promise((r) =>
      setTimeout(r, Math.random() * Math.min(50, 2 ** attempt))
    );
  }
  throw new Error(`event lost ${MAX_EVENT_ATTEMPTS} races`);
}

/**
 * The keys of log entry `seq` (a message or an event: one of them exists),
 * for retention to delete together.
 */
export function logKeys(room: string, seq: number): Deno.KvKey[] {
  return [["msg", room, seq], ["ev", room, seq]];
}

/**
 * Folds each reply's quote of its parent (author and first line, or
 * deleted, or gone) from the parents as stored now.
 */
export async function withQuotes(
  kv: Deno.Kv,
  room: string,
  messages: ChatMessage[],
): Promise<ChatMessage[]> {
  const parents = [
    ...new Set(
      messages.flatMap((m) =>
        m.replyTo !== undefined && !m.deleted ? [m.replyTo] : []
      ),
    ),
  ];
  if (parents.length === 0) return messages;
  const entries = await getManyChunked<ChatMessage>(
    kv,
    parents.map((seq) => ["msg", room, seq]),
  );
  const bySeq = new Map(parents.map((seq, i) => [seq, entries[i].value]));
  return messages.map((m) =>
    m.replyTo !== undefined && !m.deleted
      ? { ...m, quote: quoteOf(bySeq.get(m.replyTo)) }
      : m
  );
}

/** Gives each edit its target's current text (none once deleted or gone). */
async function withEditTexts(
  kv: Deno.Kv,
  room: string,
  events: RoomEvent[],
): Promise<RoomEvent[]> {
  const targets = [
    ...new Set(events.flatMap((e) => e.kind === "edit" ? [e.target] : [])),
  ];
  if (targets.length === 0) return events;
  const entries = await getManyChunked<ChatMessage>(
    kv,
    targets.map((seq) => ["msg", room, seq]),
  );
  const bySeq = new Map(targets.map((seq, i) => [seq, entries[i].value]));
  return events.map((e) => {
    if (e.kind !== "edit") return e;
    const target = bySeq.get(e.target);
    const { text: _t, ...rest } = e;
    return target && !target.deleted ? { ...rest, text: target.text } : rest;
  });
}

/**
 * The log after `after`: messages (folded, with quotes) and events, up to
 * `limit` entries in all, in `seq` order.
 */
export async function listSince(
  kv: Deno.Kv,
  room: string,
  after: number,
  limit: number,
): Promise<LogPage> {
  if (after >= Number.MAX_SAFE_INTEGER - 1) {
    return { messages: [], events: [], hasMore: false };
  }
  const start = Math.max(0, after) + 1;
  const read = async <T>(prefix: string) => {
    const out: T[] = [];
    const iter = kv.list<T>({
      start: [prefix, room, start],
      end: [prefix, room, Number.MAX_SAFE_INTEGER],
    }, { limit: limit + 1, batchSize: Math.min(limit + 1, 500) });
    for await (const entry of iter) out.push(entry.value);
    return out;
  };
  const [messages, events] = await Promise.all([
    read<ChatMessage>("msg"),
    read<RoomEvent>("ev"),
  ]);
  const merged = [...messages, ...events].sort((a, b) => a.seq - b.seq);
  const hasMore = merged.length > limit;
  const last = hasMore ? merged[limit - 1].seq : Infinity;
  return {
    messages: await withQuotes(
      kv,
      room,
      messages.filter((m) => m.seq <= last),
    ),
    events: await withEditTexts(
      kv,
      room,
      events.filter((e) => e.seq <= last),
    ),
    hasMore,
  };
}

/** Deletes per atomic write when dropping events: within Deno KV's 1,000 mutations. */
const EVENT_DELETES_PER_OP = 500;

/**
 * Deletes the room's events with `seq < before` (retention: they changed
 * messages that are gone). In batches; returns how many.
 */
export async function deleteEventsBefore(
  kv: Deno.Kv,
  room: string,
  before: number,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys: Deno.KvKey[] = [];
    for await (
      const e of kv.list(
        { start: ["ev", room, 0], end: ["ev", room, before] },
        {
          limit: EVENT_DELETES_PER_OP,
          batchSize: EVENT_DELETES_PER_OP,
        },
      )
    ) keys.push(e.key);
    if (keys.length === 0) return deleted;
    const op = kv.atomic();
    for (const key of keys) op.delete(key);
    await op.commit();
    deleted += keys.length;
  }
}

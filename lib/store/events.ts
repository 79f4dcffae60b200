/**
 * The room log's events on Deno KV: their keys and stored form, and the
 * reads that return the log (`since`) or folded messages with their replies'
 * quotes. `KvMessageStore` writes them: an edit, delete or reaction is
 * checked against its target, folded into it and appended with the room's
 * next `seq` in the same group commit as the room's messages (checked on the
 * room head, the target and the idempotency key).
 *
 * Keys: `["ev", room, seq]` → the event (an edit without its text: the text
 * lives only in the target, so deleting the target erases every version);
 * `["ecid", room, userId, clientId]` → seq (expires).
 *
 * @module
 */

import { quoteOf } from "../chat/events.ts";
import type { ChatMessage, RoomEvent } from "../chat/types.ts";
import { getManyChunked } from "./kv.ts";
import type { EventDraft, LogPage } from "./types.ts";

/** How long an event's `clientId` is remembered for idempotent retries (as a message's). */
export const EVENT_CLIENT_ID_TTL_MS = 7 * 24 * 3600 * 1000;
/**
 * What one event adds to a group commit's bytes besides an edit's own text:
 * its target is written again whole (text ≤ `MAX_MESSAGE_CHARS` = 4,000
 * characters, 12 KiB of UTF-8, plus its reactions), so 16 events at most fill
 * the 256 KiB budget. An estimate: a popular message's reactors can take it
 * up to KV's 64 KiB per value, and a group commit KV refuses as too large is
 * committed in halves (`KvMessageStore`).
 */
export const EVENT_TARGET_BYTES = 16 * 1024;

/** The key that makes an event idempotent: its actor's `clientId` in the room. */
export function eventIdKey(draft: EventDraft): Deno.KvKey {
  return ["ecid", draft.room, draft.user.id, draft.clientId];
}

/**
 * The event as stored: an edit without its text (the text lives in its
 * target only, so deleting the target erases every version).
 */
export function storedEvent(event: RoomEvent): RoomEvent {
  if (event.kind !== "edit") return event;
  const { text: _t, ...rest } = event;
  return rest;
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
export async function withEditTexts(
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

/**
 * Rooms by last activity on Deno KV: one key per room,
 * `["rooms_by_activity", lastTs, room]` → lastSeq, so the lobby's "most
 * recently active rooms" is one reverse range read of `limit` keys, however
 * many rooms exist.
 *
 * The message store keeps it in the same atomic write as each append: that
 * write already checks the room head's versionstamp, so the head it read
 * (its `lastTs`) names the one index key to delete, and a concurrent writer
 * (another process on the file) that moved the head first makes the whole
 * write fail and retry. No extra read, no extra round trip.
 *
 * @module
 */

import { isBusy } from "./kv.ts";
import type { RoomSummary } from "./types.ts";

/** First part of every index key. */
export const ACTIVITY_PREFIX = "rooms_by_activity";
/** Set once every room head of the database has its index key. */
const INDEXED_MARKER: Deno.KvKey = ["meta", "rooms_by_activity_indexed"];
/** Deno KV's limit on checks per atomic operation: one per head indexed. */
const INDEX_BATCH = 100;
/** Attempts of one indexing write while another writer holds the file. */
const BUSY_ATTEMPTS = 20;
/**
 * Extra index keys a listing reads past `limit`, to skip stale ones: a room
 * has two keys only when a writer without the index (an older version of
 * this code, during a rolling upgrade) moved its head.
 */
const STALE_SLACK = 100;

/** A room head as the message store keeps it: `["room", room]`. */
export interface RoomHead {
  lastSeq: number;
  lastTs: number;
}

/** The index key of a room whose last message is at `lastTs`. */
export function activityKey(lastTs: number, room: string): Deno.KvKey {
  return [ACTIVITY_PREFIX, lastTs, room];
}

/**
 * The `limit` most recently active rooms, newest first. A room listed twice
 * (a stale key, see {@link STALE_SLACK}) is listed once, at its newest key,
 * and its older keys are deleted.
 */
export async function listByActivity(
  kv: Deno.Kv,
  limit: number,
): Promise<RoomSummary[]> {
  if (limit <= 0) return [];
  const rooms: RoomSummary[] = [];
  const seen = new Set<string>();
  const stale: Deno.KvKey[] = [];
  const read = limit + STALE_SLACK;
  for await (
    const e of kv.list<number>({ prefix: [ACTIVITY_PREFIX] }, {
      reverse: true,
      limit: read,
      batchSize: Math.min(read, 500),
    })
  ) {
    const room = String(e.key[2]);
    // A room's lastTs never goes back, so its newest key is the true one.
    if (seen.has(room)) {
      stale.push(e.key);
      continue;
    }
    if (rooms.length === limit) break;
    seen.add(room);
    rooms.push({ room, lastSeq: e.value, lastTs: Number(e.key[1]) });
  }
  for (let i = 0; i < stale.length; i += INDEX_BATCH) {
    const op = kv.atomic();
    for (const key of stale.slice(i, i + INDEX_BATCH)) op.delete(key);
    await op.commit();
  }
  return rooms;
}

/**
 * Gives every room head its index key, once per database (a database
 * written before the index existed); later calls read one marker key.
 * Safe with concurrent writers: each key is written with a check on the
 * head it was read from, so a head another writer moved meanwhile is left to
 * that writer (which indexed it). Returns the rooms indexed.
 */
export async function indexActivity(kv: Deno.Kv): Promise<number> {
  if ((await kv.get(INDEXED_MARKER)).value) return 0;
  let indexed = 0;
  let batch: Deno.KvEntry<RoomHead>[] = [];
  for await (
    const e of kv.list<RoomHead>({ prefix: ["room"] }, { batchSize: 500 })
  ) {
    batch.push(e);
    if (batch.length === INDEX_BATCH) {
      indexed += await indexHeads(kv, batch);
      batch = [];
    }
  }
  indexed += await indexHeads(kv, batch);
  await kv.set(INDEXED_MARKER, true);
  return indexed;
}

async function indexHeads(
  kv: Deno.Kv,
  heads: Deno.KvEntry<RoomHead>[],
): Promise<number> {
  if (heads.length === 0) return 0;
  const write = async (entries: Deno.KvEntry<RoomHead>[]) => {
    for (let attempt = 1;; attempt++) {
      const op = kv.atomic();
      for (const e of entries) {
        op.check(e).set(
          activityKey(e.value.lastTs, String(e.key[1])),
          e.value.lastSeq,
        );
      }
      try {
        return await op.commit();
      } catch (err) {
        // Another process holds the file's write lock: wait a little, retry.
        if (!isBusy(err) || attempt === BUSY_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20));
      }
    }
  };
  if ((await write(heads)).ok) return heads.length;
  // Some head moved: index the others one by one.
  let indexed = 0;
  for (const e of heads) if ((await write([e])).ok) indexed++;
  return indexed;
}

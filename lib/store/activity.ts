/**
 * Rooms by last activity on Deno KV: one key per room,
 * `["rooms_by_activity", second, room]`, `second` being its last message's
 * time rounded down to {@link ACTIVITY_BUCKET_MS}. The lobby's "most
 * recently active rooms" is then one reverse range read of about `limit`
 * keys and their room heads, however many rooms exist.
 *
 * The message store moves a room's key in the same atomic write as the
 * append that moves it: that write already checks the room head's
 * versionstamp, so the head it read (its `lastTs`) names the one key to
 * delete, and a concurrent writer (another process on the file) that moved
 * the head first makes the whole write fail and retry. No extra read, no
 * extra round trip. The key moves only when the second changes, so a busy
 * room costs the index at most one move a second rather than one per
 * commit: two mutations per room per commit measured about +20 % CPU per
 * append for bursts spread over 100 rooms. The order within one second,
 * and each room's `lastSeq` and exact `lastTs`, come from the heads.
 *
 * @module
 */

import { getManyChunked, isBusy } from "./kv.ts";
import type { RoomSummary } from "./types.ts";

/** First part of every index key. */
export const ACTIVITY_PREFIX = "rooms_by_activity";
/** A room's index key moves at most once per this long (its resolution). */
export const ACTIVITY_BUCKET_MS = 1_000;
/** Set once every room head of the database has its index key. */
const INDEXED_MARKER: Deno.KvKey = ["meta", "rooms_by_activity_indexed"];
/** Deno KV's limit on checks per atomic operation: one per head indexed. */
const INDEX_BATCH = 100;
/** Attempts of one indexing write while another writer holds the file. */
const BUSY_ATTEMPTS = 20;
/**
 * Rooms a listing reads past `limit` from the second of its last room: any
 * of them may be newer within that second. Beyond this many rooms active in
 * one second, the list's last places may be off by less than a second.
 */
const BUCKET_SLACK = 100;
/**
 * Extra index keys a listing reads, to skip stale ones: a room has two keys
 * only when a writer without the index (an older version of this code,
 * during a rolling upgrade) moved its head.
 */
const STALE_SLACK = 100;

/** A room head as the message store keeps it: `["room", room]`. */
export interface RoomHead {
  lastSeq: number;
  lastTs: number;
}

/** The index key of a room whose last message is at `lastTs`. */
export function activityKey(lastTs: number, room: string): Deno.KvKey {
  return [ACTIVITY_PREFIX, lastTs - lastTs % ACTIVITY_BUCKET_MS, room];
}

/**
 * Whether a room's index key moves when its last message goes from
 * `beforeTs` (null: the room is new) to `afterTs`.
 *
 * @example
 * ```ts
 * activityMoves(null, 1_500); // true
 * activityMoves(1_200, 1_900); // false: the same second
 * activityMoves(1_900, 2_000); // true
 * ```
 */
export function activityMoves(
  beforeTs: number | null,
  afterTs: number,
): boolean {
  return beforeTs === null ||
    activityKey(beforeTs, "")[1] !== activityKey(afterTs, "")[1];
}

/**
 * The `limit` most recently active rooms, newest first, with their heads'
 * `lastSeq` and `lastTs`. A room with two keys (see {@link STALE_SLACK}) is
 * listed once, and its older key is deleted.
 */
export async function listByActivity(
  kv: Deno.Kv,
  limit: number,
): Promise<RoomSummary[]> {
  if (limit <= 0) return [];
  const names: string[] = [];
  const seen = new Set<string>();
  const stale: Deno.KvKey[] = [];
  let boundary: unknown = null;
  const read = limit + BUCKET_SLACK + STALE_SLACK;
  for await (
    const e of kv.list({ prefix: [ACTIVITY_PREFIX] }, {
      reverse: true,
      limit: read,
      batchSize: Math.min(read, 500),
    })
  ) {
    const [, second, room] = e.key;
    // A room's lastTs never goes back, so its newest key is the true one.
    if (seen.has(String(room))) {
      stale.push(e.key);
      continue;
    }
    // Past `limit`, only rooms of the last listed room's second may rank above it.
    if (
      names.length >= limit &&
      (second !== boundary || names.length === limit + BUCKET_SLACK)
    ) break;
    seen.add(String(room));
    names.push(String(room));
    if (names.length === limit) boundary = second;
  }
  for (let i = 0; i < stale.length; i += INDEX_BATCH) {
    const op = kv.atomic();
    for (const key of stale.slice(i, i + INDEX_BATCH)) op.delete(key);
    await op.commit();
  }
  const heads = await getManyChunked<RoomHead>(
    kv,
    names.map((room) => ["room", room]),
  );
  return names.flatMap((room, i) => {
    const head = heads[i].value;
    return head ? [{ room, lastSeq: head.lastSeq, lastTs: head.lastTs }] : [];
  }).sort((a, b) => b.lastTs - a.lastTs || a.room.localeCompare(b.room))
    .slice(0, limit);
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
        op.check(e).set(activityKey(e.value.lastTs, String(e.key[1])), true);
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

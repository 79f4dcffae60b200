/**
 * Who is connected, shared by every instance through Deno KV.
 *
 * Each connection is one key, `["presence", room, conn]`, naming the instance
 * that holds it. Each instance keeps one heartbeat key, `["instance", id]`,
 * refreshed every few seconds. A connection whose instance stopped beating
 * (it crashed or was killed) is a ghost: it is left out of every read and
 * deleted by the read that finds it ({@link KvPresenceStore.room},
 * {@link KvPresenceStore.counts}), or by a tracker that held it in its view.
 * So a crashed instance's keys do not pile up; a stopping instance deletes
 * its own ({@link KvPresenceStore.untrackAll}). Joins and leaves are written
 * by group commit: those that arrive while a write is in flight go together
 * in the next atomic operation (up to {@link KV_ATOMIC_MAX} sets,
 * {@link KV_DELETES_MAX} mutations in all), so a storm of
 * 10,000 reconnects costs a few hundred KV commits, not 10,000, and a lone
 * join still costs one write with no added wait. A heartbeat is one write per
 * instance, and reads happen only when an instance first serves a room,
 * reconciles it, or counts the lobby.
 *
 * @module
 */

import { getManyChunked } from "./kv.ts";
import {
  PRESENCE_TTL_MS,
  type PresenceRecord,
  type PresenceStore,
} from "./types.ts";

/** Presence lists read at most this many connections per room. */
export const MAX_PRESENCE_PER_ROOM = 5_000;
/**
 * Records set per atomic write: a record (user with name and picture URL) is
 * at most a few KiB, so 100 stay far under Deno KV's 800 KiB per atomic
 * operation; also the checks per ghost delete, at KV's limit of 100 checks.
 */
export const KV_ATOMIC_MAX = 100;
/**
 * Mutations per atomic write when most are deletes (a graceful stop removing
 * every connection of the instance, a dead instance's connections): Deno KV
 * allows 1,000 mutations but only 80 KiB of keys written per atomic
 * operation (checked on Deno 2.9), and a presence key is at most about 130
 * bytes (a room of 64 characters, a channel name of about 40), so 500 keys
 * are at most about 65 KB. A stop of 10,000 connections is 20 commits.
 */
export const KV_DELETES_MAX = 500;

interface Heartbeat {
  expiresAt: number;
}

/** One key's latest write waiting for the next group commit, and who waits on it. */
interface QueuedWrite {
  key: Deno.KvKey;
  /** The record to set, or null to delete the key. */
  value: PresenceRecord | null;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/** {@link PresenceStore} on Deno KV. */
export class KvPresenceStore implements PresenceStore {
  /** Writes waiting for the next group commit, by key (a later write to a key replaces an earlier one). */
  readonly #queue = new Map<string, QueuedWrite>();
  #writing = false;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly ttlMs: number = PRESENCE_TTL_MS,
  ) {}

  /**
   * Queues a set (or, with null, a delete) of `key`; resolves once it is
   * committed. Queued writes go out together, in arrival order, while one
   * commit at a time is in flight; two writes of one key before its commit
   * leave only the later one (the order they were made in is kept).
   */
  #write(key: Deno.KvKey, value: PresenceRecord | null): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = JSON.stringify(key);
      const queued = this.#queue.get(id);
      if (queued) {
        queued.value = value;
        queued.waiters.push({ resolve, reject });
      } else {
        this.#queue.set(id, { key, value, waiters: [{ resolve, reject }] });
      }
      if (!this.#writing) {
        this.#writing = true;
        // After the current task: writes made in the same turn share a commit.
        queueMicrotask(() => this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.size > 0) {
        // Up to KV_ATOMIC_MAX sets, and KV_DELETES_MAX mutations in all.
        const batch: QueuedWrite[] = [];
        let sets = 0;
        for (const [id, write] of this.#queue) {
          if (write.value && sets === KV_ATOMIC_MAX) break;
          batch.push(write);
          this.#queue.delete(id);
          if (write.value) sets++;
          if (batch.length === KV_DELETES_MAX) break;
        }
        const op = this.kv.atomic();
        for (const w of batch) {
          if (w.value) op.set(w.key, w.value);
          else op.delete(w.key);
        }
        try {
          await op.commit();
          for (const w of batch) for (const x of w.waiters) x.resolve();
        } catch (err) {
          for (const w of batch) for (const x of w.waiters) x.reject(err);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  async heartbeat(instance: string, now: number = Date.now()): Promise<void> {
    await this.kv.set(
      ["instance", instance],
      { expiresAt: now + this.ttlMs } satisfies Heartbeat,
      {
        expireIn: this.ttlMs * 4,
      },
    );
  }

  async retire(instance: string): Promise<void> {
    await this.kv.delete(["instance", instance]);
  }

  track(record: PresenceRecord): Promise<void> {
    return this.#write(["presence", record.room, record.conn], record);
  }

  untrack(room: string, conn: string): Promise<void> {
    return this.#write(["presence", room, conn], null);
  }

  async liveInstances(
    ids: Iterable<string>,
    now: number = Date.now(),
  ): Promise<Set<string>> {
    const list = [...new Set(ids)];
    const beats = await getManyChunked<Heartbeat>(
      this.kv,
      list.map((id) => ["instance", id]),
    );
    return new Set(
      list.filter((_, i) => (beats[i].value?.expiresAt ?? 0) > now),
    );
  }

  untrackMany(room: string, conns: readonly string[]): Promise<void> {
    return this.untrackAll(conns.map((conn) => ({ room, conn })));
  }

  /**
   * Deletes every key by group commit, up to {@link KV_DELETES_MAX} per
   * atomic write; a key's delete comes after any write of it queued before.
   */
  async untrackAll(
    connections: readonly Pick<PresenceRecord, "room" | "conn">[],
  ): Promise<void> {
    await Promise.all(
      connections.map(({ room, conn }) =>
        this.#write(["presence", room, conn], null)
      ),
    );
  }

  /** The room's live connections; the ghosts read on the way are deleted. */
  async room(
    room: string,
    now: number = Date.now(),
  ): Promise<PresenceRecord[]> {
    return await this.#readLive(["presence", room], MAX_PRESENCE_PER_ROOM, now);
  }

  /** Distinct live users per room; the ghosts read on the way are deleted. */
  async counts(
    limit: number,
    now: number = Date.now(),
  ): Promise<Map<string, number>> {
    const records = await this.#readLive(["presence"], limit, now);
    const users = new Map<string, Set<string>>();
    for (const r of records) {
      let set = users.get(r.room);
      if (!set) users.set(r.room, set = new Set());
      set.add(r.user.id);
    }
    return new Map([...users].map(([room, set]) => [room, set.size]));
  }

  /**
   * Up to `limit` records under `prefix` held by live instances. The others
   * are ghosts: deleted here, each only if unchanged since it was read (its
   * instance, were it alive after all, rewrites its own keys at its next
   * reconcile anyway).
   */
  async #readLive(
    prefix: Deno.KvKey,
    limit: number,
    now: number,
  ): Promise<PresenceRecord[]> {
    const entries: Deno.KvEntry<PresenceRecord>[] = [];
    for await (
      const e of this.kv.list<PresenceRecord>({ prefix }, { limit })
    ) entries.push(e);
    const alive = await this.liveInstances(
      entries.map((e) => e.value.instance),
      now,
    );
    const ghosts = entries.filter((e) => !alive.has(e.value.instance));
    // One check and one delete per ghost: within KV's 100 checks per write.
    // (Not queued: a check must see the version read, not a later write.)
    for (let i = 0; i < ghosts.length; i += KV_ATOMIC_MAX) {
      const op = this.kv.atomic();
      for (const ghost of ghosts.slice(i, i + KV_ATOMIC_MAX)) {
        op.check(ghost).delete(ghost.key);
      }
      if (!(await op.commit()).ok) {
        // One changed meanwhile: delete the others one by one.
        for (const ghost of ghosts.slice(i, i + KV_ATOMIC_MAX)) {
          await this.kv.atomic().check(ghost).delete(ghost.key).commit();
        }
      }
    }
    return entries.filter((e) => alive.has(e.value.instance)).map((e) =>
      e.value
    );
  }
}

/**
 * Who is connected, shared by every instance through Deno KV.
 *
 * Each connection is one key, `["presence", room, conn]`, naming the instance
 * that holds it. Each instance keeps one heartbeat key, `["instance", id]`,
 * refreshed every few seconds. A connection whose instance stopped beating
 * (it crashed or was killed) is a ghost: it is left out of every read and
 * deleted by the next instance that notices. So a join or leave costs one KV
 * write, a heartbeat one write per instance, and reads happen only when an
 * instance first serves a room, reconciles it, or counts the lobby.
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
/** Mutations per atomic write, well under Deno KV's limit. */
const KV_ATOMIC_MAX = 100;

interface Heartbeat {
  expiresAt: number;
}

/** {@link PresenceStore} on Deno KV. */
export class KvPresenceStore implements PresenceStore {
  constructor(
    private readonly kv: Deno.Kv,
    private readonly ttlMs: number = PRESENCE_TTL_MS,
  ) {}

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

  async track(record: PresenceRecord): Promise<void> {
    await this.kv.set(["presence", record.room, record.conn], record);
  }

  async untrack(room: string, conn: string): Promise<void> {
    await this.kv.delete(["presence", room, conn]);
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

  async untrackMany(room: string, conns: readonly string[]): Promise<void> {
    // A batch of keys per atomic write, within KV's limit on mutations.
    for (let i = 0; i < conns.length; i += KV_ATOMIC_MAX) {
      const op = this.kv.atomic();
      for (const conn of conns.slice(i, i + KV_ATOMIC_MAX)) {
        op.delete(["presence", room, conn]);
      }
      await op.commit();
    }
  }

  async room(
    room: string,
    now: number = Date.now(),
  ): Promise<PresenceRecord[]> {
    const records: PresenceRecord[] = [];
    for await (
      const e of this.kv.list<PresenceRecord>({ prefix: ["presence", room] }, {
        limit: MAX_PRESENCE_PER_ROOM,
      })
    ) records.push(e.value);
    const alive = await this.liveInstances(
      records.map((r) => r.instance),
      now,
    );
    return records.filter((r) => alive.has(r.instance));
  }

  async counts(
    limit: number,
    now: number = Date.now(),
  ): Promise<Map<string, number>> {
    const records: PresenceRecord[] = [];
    for await (
      const e of this.kv.list<PresenceRecord>({ prefix: ["presence"] }, {
        limit,
      })
    ) {
      records.push(e.value);
    }
    const alive = await this.liveInstances(
      records.map((r) => r.instance),
      now,
    );
    const users = new Map<string, Set<string>>();
    for (const r of records) {
      if (!alive.has(r.instance)) continue;
      let set = users.get(r.room);
      if (!set) users.set(r.room, set = new Set());
      set.add(r.user.id);
    }
    return new Map([...users].map(([room, set]) => [room, set.size]));
  }
}

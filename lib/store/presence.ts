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

import type { ChatUser } from "../chat/types.ts";
import { getManyChunked } from "./kv.ts";

/** An instance that has not beaten for this long is dead. */
export const PRESENCE_TTL_MS = 15_000;
/** Presence lists read at most this many connections per room. */
export const MAX_PRESENCE_PER_ROOM = 5_000;
/** Mutations per atomic write, well under Deno KV's limit. */
const KV_ATOMIC_MAX = 100;

/** One connection in a room. */
export interface PresenceRecord {
  room: string;
  conn: string;
  user: ChatUser;
  since: number;
  instance: string;
}

interface Heartbeat {
  expiresAt: number;
}

/** Live and dead (ghost) connections of a room. */
export interface RoomPresence {
  live: PresenceRecord[];
  ghosts: PresenceRecord[];
}

/** Presence on Deno KV for one instance. */
export class KvPresenceStore {
  constructor(
    private readonly kv: Deno.Kv,
    /** This instance's id. */
    readonly instance: string,
    private readonly ttlMs: number = PRESENCE_TTL_MS,
  ) {}

  /** Marks this instance alive for another {@link ttlMs}. */
  async heartbeat(now: number = Date.now()): Promise<void> {
    await this.kv.set(
      ["instance", this.instance],
      { expiresAt: now + this.ttlMs } satisfies Heartbeat,
      {
        expireIn: this.ttlMs * 4,
      },
    );
  }

  /** Marks this instance gone (a graceful stop). */
  async retire(): Promise<void> {
    await this.kv.delete(["instance", this.instance]);
  }

  async track(record: Omit<PresenceRecord, "instance">): Promise<void> {
    await this.kv.set(["presence", record.room, record.conn], {
      ...record,
      instance: this.instance,
    });
  }

  async untrack(room: string, conn: string): Promise<void> {
    await this.kv.delete(["presence", room, conn]);
  }

  /** Which of the instances `ids` are alive (beat within the TTL). */
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

  /** Deletes the keys of `conns` in `room` (ghosts), a batch per atomic write. */
  async untrackMany(room: string, conns: readonly string[]): Promise<void> {
    for (let i = 0; i < conns.length; i += KV_ATOMIC_MAX) {
      const op = this.kv.atomic();
      for (const conn of conns.slice(i, i + KV_ATOMIC_MAX)) {
        op.delete(["presence", room, conn]);
      }
      await op.commit();
    }
  }

  /** The room's connections, split into live ones and ghosts of dead instances. */
  async room(room: string, now: number = Date.now()): Promise<RoomPresence> {
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
    return {
      live: records.filter((r) => alive.has(r.instance)),
      ghosts: records.filter((r) => !alive.has(r.instance)),
    };
  }

  /** Distinct live users per room, across all rooms (for the lobby). Bounded by `limit` connections. */
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

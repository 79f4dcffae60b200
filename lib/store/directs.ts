/**
 * Direct conversations and read markers on Deno KV. Keys:
 *
 * ```
 * ["dm_of", userId, room]   Conversation (the other person, since when)
 * ["read", userId, room]    number: the highest seq the person has seen
 * ```
 *
 * @module
 */

import type { Reactor } from "../chat/types.ts";
import type { Conversation, DirectStore } from "./access_types.ts";
import { getManyChunked } from "./kv.ts";

/** Attempts of a check-and-set before giving up. */
const MAX_ATTEMPTS = 10;

/** {@link DirectStore} on Deno KV (keys in the module's documentation). */
export class KvDirectStore implements DirectStore {
  constructor(private readonly kv: Deno.Kv) {}

  async link(
    room: string,
    a: Reactor,
    b: Reactor,
    now = Date.now(),
  ): Promise<void> {
    const keyA = ["dm_of", a.id, room];
    const keyB = ["dm_of", b.id, room];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const [forA, forB] = await this.kv.getMany<Conversation[]>([keyA, keyB]);
      if (forA.value && forB.value) return;
      const since = forA.value?.since ?? forB.value?.since ?? now;
      const done = await this.kv.atomic().check(forA, forB)
        .set(keyA, { room, with: { id: b.id, name: b.name }, since })
        .set(keyB, { room, with: { id: a.id, name: a.name }, since })
        .commit();
      if (done.ok) return;
    }
    throw new Error("direct link: too much contention");
  }

  async conversations(userId: string, limit: number): Promise<Conversation[]> {
    const out: Conversation[] = [];
    for await (
      const entry of this.kv.list<Conversation>({
        prefix: ["dm_of", userId],
      }, { limit })
    ) out.push(entry.value);
    return out;
  }

  async markRead(userId: string, room: string, seq: number): Promise<void> {
    const key = ["read", userId, room];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<number>(key);
      if ((entry.value ?? 0) >= seq) return;
      const done = await this.kv.atomic().check(entry).set(key, seq).commit();
      if (done.ok) return;
    }
    throw new Error("read marker: too much contention");
  }

  async lastRead(userId: string, rooms: readonly string[]): Promise<number[]> {
    const entries = await getManyChunked<number>(
      this.kv,
      rooms.map((room) => ["read", userId, room]),
    );
    return entries.map((e) => e.value ?? 0);
  }
}

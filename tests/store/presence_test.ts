/**
 * The PresenceStore contract, on what `createStore` gives: connections of
 * instances that stopped beating (or retired) are left out of every read.
 */
import assert from "node:assert/strict";
import type { ChatUser } from "../../lib/chat/types.ts";
import {
  KV_ATOMIC_MAX,
  KV_DELETES_MAX,
  KvPresenceStore,
} from "../../lib/store/presence.ts";
import { newChannelName, newInstanceId } from "../../lib/chat/layer.ts";
import { MAX_ROOM_CHARS } from "../../lib/chat/names.ts";
import { createStore } from "../../lib/store/stores.ts";
import {
  PRESENCE_TTL_MS,
  type PresenceRecord,
  type PresenceStore,
} from "../../lib/store/types.ts";

const user = (name: string): ChatUser => ({
  id: `guest:${name}`,
  name,
  kind: "guest",
});

const record = (
  room: string,
  conn: string,
  name: string,
  instance: string,
): PresenceRecord => ({ room, conn, user: user(name), since: 1, instance });

async function withPresence(
  fn: (presence: PresenceStore) => Promise<void>,
): Promise<void> {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    await fn(stores.presence);
  } finally {
    await stores.close();
  }
}

const conns = (records: PresenceRecord[]) => records.map((r) => r.conn).sort();

Deno.test("presence store: a room lists the connections of live instances only", async () => {
  await withPresence(async (presence) => {
    const now = Date.now();
    await presence.heartbeat("alive", now);
    await presence.heartbeat("dying", now - PRESENCE_TTL_MS);
    await presence.track(record("r", "a1", "Ana", "alive"));
    await presence.track(record("r", "a2", "Ana", "alive"));
    await presence.track(record("r", "d1", "Dan", "dying"));
    await presence.track(record("r", "n1", "Nobody", "never-beat"));
    await presence.track(record("other", "a3", "Ben", "alive"));
    assert.deepEqual(conns(await presence.room("r", now)), ["a1", "a2"]);
    assert.deepEqual(
      await presence.liveInstances(["alive", "dying", "never-beat"], now),
      new Set(["alive"]),
    );
    // Distinct users: Ana's two tabs count once.
    assert.deepEqual(
      await presence.counts(100, now),
      new Map([["r", 1], ["other", 1]]),
    );
  });
});

Deno.test("presence store: untrack, untrackMany and retire take connections out", async () => {
  await withPresence(async (presence) => {
    await presence.heartbeat("a");
    await presence.heartbeat("b");
    const many = Array.from({ length: 150 }, (_, i) => `b${i}`);
    for (const conn of many) {
      await presence.track(record("r", conn, `B${conn}`, "b"));
    }
    await presence.track(record("r", "a1", "Ana", "a"));
    await presence.track(record("r", "a2", "Ana", "a"));
    assert.equal((await presence.room("r")).length, 152);

    // More than one atomic write's worth.
    await presence.untrackMany("r", many.slice(0, 120));
    assert.equal((await presence.room("r")).length, 32);
    await presence.untrack("r", "a2");
    await presence.retire("b");
    assert.deepEqual(conns(await presence.room("r")), ["a1"]);
  });
});

Deno.test("presence store: the ghosts a read finds are deleted, so a crashed instance's keys do not pile up", async () => {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    const { presence } = stores;
    const now = Date.now();
    await presence.heartbeat("alive", now);
    await presence.heartbeat("crashed", now - PRESENCE_TTL_MS);
    await presence.track(record("r", "a1", "Ana", "alive"));
    for (let i = 0; i < 150; i++) {
      await presence.track(record("r", `c${i}`, `C${i}`, "crashed"));
    }
    await presence.track(record("quiet", "c-q", "Quiet", "crashed"));
    // A room read deletes the room's ghosts (more than one atomic write's worth)...
    assert.deepEqual(conns(await presence.room("r", now)), ["a1"]);
    // ...so a read that no longer filters by liveness sees only the live one.
    assert.deepEqual(conns(await presence.room("r", 0)), ["a1"]);
    // The lobby's count deletes those of rooms nobody serves any more.
    assert.deepEqual(await presence.counts(1_000, now), new Map([["r", 1]]));
    assert.deepEqual(conns(await presence.room("quiet", 0)), []);
  } finally {
    await stores.close();
  }
});

/** A KV handle that counts atomic commits and plain sets/deletes. */
function countingKv(kv: Deno.Kv): { kv: Deno.Kv; writes: () => number } {
  let writes = 0;
  const proxy = new Proxy(kv, {
    get(target, prop) {
      if (prop === "set" || prop === "delete") writes++;
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            writes++;
            return commit();
          };
          return op;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: proxy, writes: () => writes };
}

Deno.test("KvPresenceStore: joins made together are written together (group commit)", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const { kv, writes } = countingKv(raw);
    const presence = new KvPresenceStore(kv);
    await presence.heartbeat("a");
    const before = writes();
    await Promise.all(
      Array.from(
        { length: 250 },
        (_, i) => presence.track(record("r", `a:${i}`, `u${i}`, "a")),
      ),
    );
    // 250 keys in batches of at most 100: three commits, not 250.
    assert.equal(writes() - before, 3);
    assert.equal((await presence.room("r")).length, 250);
  } finally {
    raw.close();
  }
});

Deno.test("KvPresenceStore: a leave queued after its join wins, and the other way round", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const presence = new KvPresenceStore(raw);
    await presence.heartbeat("a");
    // A commit is in flight for the first, so the rest queue behind it.
    await Promise.all([
      presence.track(record("r", "a:1", "x", "a")),
      presence.track(record("r", "a:2", "y", "a")),
      presence.untrack("r", "a:2"),
      presence.untrack("r", "a:3"),
      presence.track(record("r", "a:3", "z", "a")),
    ]);
    assert.deepEqual(
      (await presence.room("r")).map((r) => r.conn).sort(),
      ["a:1", "a:3"],
    );
    await presence.untrack("r", "a:1");
    assert.deepEqual((await presence.room("r")).map((r) => r.conn), ["a:3"]);
  } finally {
    raw.close();
  }
});

Deno.test("KvPresenceStore: untrackAll deletes the keys of many rooms, the longest keys included, KV_DELETES_MAX per atomic write", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const { kv, writes } = countingKv(raw);
    const presence = new KvPresenceStore(kv);
    const instance = newInstanceId();
    await presence.heartbeat(instance);
    // Rooms and channel names at their longest: KV's 80 KiB of keys per write.
    const rooms = ["a", "b"].map((c) => c.repeat(MAX_ROOM_CHARS));
    const records = Array.from(
      { length: 2 * KV_DELETES_MAX + 1 },
      (_, i) =>
        record(rooms[i % 2], newChannelName(instance), `U${i}`, instance),
    );
    await Promise.all(records.map((r) => presence.track(r)));
    assert.equal(
      (await presence.room(rooms[0])).length +
        (await presence.room(rooms[1])).length,
      records.length,
    );
    const before = writes();
    await presence.untrackAll(records);
    assert.equal(writes() - before, 3);
    assert.equal((await presence.room(rooms[0])).length, 0);
    assert.equal((await presence.room(rooms[1])).length, 0);
  } finally {
    raw.close();
  }
});

Deno.test("KvPresenceStore: a group commit holds at most KV_ATOMIC_MAX sets among its deletes, and keeps each key's last write", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const { kv, writes } = countingKv(raw);
    const presence = new KvPresenceStore(kv);
    await presence.heartbeat("a");
    const sets = Array.from(
      { length: KV_ATOMIC_MAX * 2 },
      (_, i) => record("r", `a:s${i}`, `S${i}`, "a"),
    );
    const deleted = Array.from({ length: KV_DELETES_MAX }, (_, i) => ({
      room: "r",
      conn: `a:d${i}`,
    }));
    const before = writes();
    // One turn: sets and deletes all wait for the same drain.
    await Promise.all([
      ...sets.map((r) => presence.track(r)),
      presence.untrackAll([...deleted, { room: "r", conn: sets[0].conn }]),
    ]);
    // 101 (100 sets and a delete), 500 (99 sets, 401 deletes), 100 deletes;
    // without the cap on sets, two writes of 500 and 201.
    assert.equal(writes() - before, 3);
    assert.deepEqual(
      conns(await presence.room("r")),
      sets.slice(1).map((r) => r.conn).sort(),
    );
  } finally {
    raw.close();
  }
});

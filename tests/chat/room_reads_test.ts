/**
 * RoomReads: newcomers asking together share one read, and every answer comes
 * from a read that began after it was asked (a real KV store underneath).
 */
import assert from "node:assert/strict";
import {
  RoomInfoReads,
  RoomReads,
  sharedReads,
  sharedRoomInfo,
} from "../../lib/chat/room_reads.ts";
import { DEFAULT_ROOM_SETTINGS } from "../../lib/chat/moderation.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { MessageStore, Stores } from "../../lib/store/types.ts";

const user = { id: "guest:a", name: "a", kind: "guest" } as const;

/** The store with its reads counted. */
function counted(store: MessageStore): {
  store: MessageStore;
  reads: () => number;
} {
  let reads = 0;
  const wrapped = Object.create(store) as MessageStore;
  for (const name of ["lastSeq", "recent", "since"] as const) {
    // deno-lint-ignore no-explicit-any
    (wrapped as any)[name] = (...args: unknown[]) => {
      reads++;
      // deno-lint-ignore no-explicit-any
      return (store as any)[name](...args);
    };
  }
  return { store: wrapped, reads: () => reads };
}

async function withStore(fn: (stores: Stores) => Promise<void>) {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 1_000,
  });
  try {
    await fn(stores);
  } finally {
    await stores.close();
  }
}

const post = (store: MessageStore, room: string, n: number) =>
  store.append({ room, user, text: `m${n}`, clientId: `c${n}` });

Deno.test("RoomReads: 50 newcomers of a room asking together cost four reads, not a hundred", async () => {
  await withStore(async ({ messages }) => {
    for (let i = 1; i <= 3; i++) await post(messages, "r", i);
    const { store, reads } = counted(messages);
    const shared = new RoomReads(store);
    const pages = await Promise.all(
      Array.from({ length: 50 }, () => shared.welcome("r", 50)),
    );
    // The first asked alone (one head + one page); the 49 others asked while
    // it was in flight and share the next read.
    assert.equal(reads(), 4);
    for (const page of pages) {
      assert.equal(page.lastSeq, 3);
      assert.deepEqual(page.messages.map((m) => m.text), ["m1", "m2", "m3"]);
      assert.equal(page.historyJson, JSON.stringify(page.messages));
      assert.equal(page.hasMore, false);
    }
  });
});

Deno.test("RoomReads: one who asks while a read is in flight gets a later read, which sees what was appended meanwhile", async () => {
  await withStore(async ({ messages }) => {
    await post(messages, "r", 1);
    const shared = new RoomReads(messages);
    const first = shared.welcome("r", 50);
    // Appended after the first read began, then asked for: must be in the answer.
    await post(messages, "r", 2);
    const second = shared.welcome("r", 50);
    assert.equal((await second).lastSeq, 2);
    assert.deepEqual((await second).messages.map((m) => m.seq), [1, 2]);
    assert.ok((await first).lastSeq >= 1);
  });
});

Deno.test("RoomReads: resumes of the same room and seq share a read; other seqs or rooms do not", async () => {
  await withStore(async ({ messages }) => {
    for (let i = 1; i <= 4; i++) await post(messages, "r", i);
    await post(messages, "s", 1);
    const { store, reads } = counted(messages);
    const shared = new RoomReads(store);
    const [a, b, c, d] = await Promise.all([
      shared.since("r", 2, 100),
      shared.since("r", 2, 100),
      shared.since("r", 3, 100),
      shared.since("s", 0, 100),
    ]);
    // r/2: the first read, and the next for the second asker (it asked while
    // the first was in flight); r/3 and s/0 one each.
    assert.equal(reads(), 4);
    assert.deepEqual(a.messages.map((m) => m.seq), [3, 4]);
    assert.deepEqual(b, a);
    assert.deepEqual(c.messages.map((m) => m.seq), [4]);
    assert.deepEqual(d.messages.map((m) => m.text), ["m1"]);
  });
});

Deno.test("RoomReads: a failed read fails its batch only; the next asks again", async () => {
  await withStore(async ({ messages }) => {
    await post(messages, "r", 1);
    let fail = true;
    const flaky = {
      lastSeq: (room: string) =>
        fail ? Promise.reject(new Error("down")) : messages.lastSeq(room),
      recent: (room: string, limit: number) => messages.recent(room, limit),
    } as MessageStore;
    const shared = new RoomReads(flaky);
    await assert.rejects(shared.welcome("r", 50), /down/);
    fail = false;
    assert.equal((await shared.welcome("r", 50)).lastSeq, 1);
  });
});

Deno.test("sharedReads: one per store", async () => {
  await withStore(({ messages }) => {
    assert.equal(sharedReads(messages), sharedReads(messages));
    return Promise.resolve();
  });
});

Deno.test("RoomInfoReads: a room's newcomers asking together share a read; one asking later sees a later write", async () => {
  await withStore(async ({ rooms }) => {
    await rooms.create("r", { id: user.id, name: user.name }, {
      ...DEFAULT_ROOM_SETTINGS,
    });
    let reads = 0;
    const counting = {
      get: (room: string) => {
        reads++;
        return rooms.get(room);
      },
    };
    const shared = new RoomInfoReads(counting);
    const infos = await Promise.all(
      Array.from({ length: 50 }, () => shared.get("r")),
    );
    // The first asked alone, the 49 others share the next read.
    assert.equal(reads, 2);
    for (const info of infos) assert.equal(info?.owner?.id, user.id);
    assert.equal(await shared.get("none"), null);
    assert.equal(reads, 3);
    // Changed after a read began, then asked: the answer has the change.
    const first = shared.get("r");
    await rooms.updateSettings("r", {
      ...DEFAULT_ROOM_SETTINGS,
      visibility: "private",
    });
    assert.equal((await shared.get("r"))?.settings.visibility, "private");
    await first;
    assert.equal(sharedRoomInfo(counting), sharedRoomInfo(counting));
  });
});

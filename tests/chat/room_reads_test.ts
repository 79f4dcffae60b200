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

/** The store with its reads counted (all of them, and by method). */
function counted(store: MessageStore): {
  store: MessageStore;
  reads: () => number;
  calls: (name: "lastSeq" | "recent" | "since") => number;
} {
  const counts = { lastSeq: 0, recent: 0, since: 0 };
  const wrapped = Object.create(store) as MessageStore;
  for (const name of ["lastSeq", "recent", "since"] as const) {
    // deno-lint-ignore no-explicit-any
    (wrapped as any)[name] = (...args: unknown[]) => {
      counts[name]++;
      // deno-lint-ignore no-explicit-any
      return (store as any)[name](...args);
    };
  }
  return {
    store: wrapped,
    reads: () => counts.lastSeq + counts.recent + counts.since,
    calls: (name) => counts[name],
  };
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

Deno.test("RoomReads.head: 50 sockets of a room asking together cost two head reads and no page", async () => {
  await withStore(async ({ messages }) => {
    for (let i = 1; i <= 3; i++) await post(messages, "r", i);
    const { store, calls } = counted(messages);
    const shared = new RoomReads(store);
    const heads = await Promise.all(
      Array.from({ length: 50 }, () => shared.head("r")),
    );
    // The first asked alone; the 49 others asked while it was in flight and
    // share the next read.
    assert.deepEqual(
      [calls("lastSeq"), calls("recent"), calls("since")],
      [2, 0, 0],
    );
    assert.deepEqual(new Set(heads), new Set([3]));
    // A room with nothing stored: 0, its own read.
    assert.equal(await shared.head("empty"), 0);
    assert.equal(calls("lastSeq"), 3);
  });
});

Deno.test("RoomReads.head: one who asks while a read is in flight gets the next read, which sees what was appended meanwhile", async () => {
  await withStore(async ({ messages }) => {
    await post(messages, "r", 1);
    // The first read has its value before the append, and is held until
    // the second caller has asked: the second cannot be answered by it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    let readOne!: () => void;
    const firstRead = new Promise<void>((resolve) => readOne = resolve);
    let reads = 0;
    const gated = Object.create(messages) as MessageStore;
    gated.lastSeq = async (room) => {
      const n = ++reads;
      const head = await messages.lastSeq(room);
      if (n === 1) {
        readOne();
        await held;
      }
      return head;
    };
    const shared = new RoomReads(gated);
    const first = shared.head("r");
    await firstRead;
    await post(messages, "r", 2);
    const second = shared.head("r");
    assert.equal(reads, 1, "the second waits for the first read to end");
    release();
    assert.deepEqual([await first, await second], [1, 2]);
    assert.equal(reads, 2);
  });
});

Deno.test("RoomReads.head: rooms do not share a read, nor does the welcome's", async () => {
  await withStore(async ({ messages }) => {
    await post(messages, "r", 1);
    await post(messages, "s", 1);
    await post(messages, "s", 2);
    const { store, calls } = counted(messages);
    const shared = new RoomReads(store);
    const [r, s, page] = await Promise.all([
      shared.head("r"),
      shared.head("s"),
      shared.welcome("r", 50),
    ]);
    assert.deepEqual([r, s, page.lastSeq], [1, 2, 1]);
    // One head read per room, and the welcome's own head and page.
    assert.deepEqual([calls("lastSeq"), calls("recent")], [3, 1]);
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

import assert from "node:assert/strict";
import {
  conversationsOf,
  MAX_UNREAD_COUNTED,
  openDirect,
  sortConversations,
} from "../../lib/chat/direct.ts";
import { directRoomName } from "../../lib/chat/access.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { ChatUser } from "../../lib/chat/types.ts";

const ANA: ChatUser = { id: "google:ana", name: "Ana", kind: "google" };
const BEN: ChatUser = { id: "google:ben", name: "Ben", kind: "google" };
const GUS: ChatUser = { id: "guest:gus", name: "Gus", kind: "guest" };

Deno.test("sortConversations: newest first, then unread first, then by name", () => {
  const view = (name: string, lastTs: number, unread: number) => ({
    room: name,
    with: { id: name, name },
    lastTs,
    unread,
  });
  assert.deepEqual(
    sortConversations([
      view("b", 1, 0),
      view("a", 5, 0),
      view("c", 1, 2),
    ]).map((v) => v.room),
    ["a", "c", "b"],
  );
});

Deno.test("openDirect: one private room per pair, found again from either side; guests and yourself refused", async () => {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    const deps = { rooms: stores.rooms, directs: stores.directs };
    const first = await openDirect(deps, ANA, BEN, 100);
    const again = await openDirect(deps, BEN, ANA, 200);
    assert.deepEqual(first, {
      ok: true,
      room: await directRoomName(ANA.id, BEN.id),
    });
    assert.deepEqual(again, first);
    const room = first.ok ? first.room : "";
    const info = await stores.rooms.get(room);
    assert.equal(info?.owner, null);
    assert.equal(info?.settings.visibility, "private");
    assert.deepEqual(
      (await stores.rooms.members(room, 10)).map((m) => [m.user.id, m.role])
        .sort(),
      [[ANA.id, "member"], [BEN.id, "member"]],
    );
    assert.deepEqual(await openDirect(deps, GUS, BEN), {
      ok: false,
      reason: "guest",
    });
    assert.deepEqual(await openDirect(deps, ANA, GUS), {
      ok: false,
      reason: "guest",
    });
    assert.deepEqual(await openDirect(deps, ANA, ANA), {
      ok: false,
      reason: "self",
    });

    // Unread: the messages after the reader's marker.
    for (const text of ["1", "2", "3"]) {
      await stores.messages.append({ room, user: ANA, text, clientId: text });
    }
    await stores.directs.markRead(ANA.id, room, 3);
    const forBen = await conversationsOf(
      { directs: stores.directs, store: stores.messages },
      BEN.id,
    );
    assert.equal(forBen.length, 1);
    assert.equal(forBen[0].unread, 3);
    assert.deepEqual(forBen[0].with, { id: ANA.id, name: "Ana" });
    const forAna = await conversationsOf(
      { directs: stores.directs, store: stores.messages },
      ANA.id,
    );
    assert.equal(forAna[0].unread, 0);
  } finally {
    await stores.close();
  }
});

Deno.test("openDirect: a dm- room made another way is never taken over", async () => {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    const room = await directRoomName(ANA.id, BEN.id);
    await stores.rooms.create(room, { id: "google:cal", name: "Cal" }, {
      title: "",
      topic: "",
      visibility: "public",
      postPolicy: "everyone",
      slowModeSeconds: 0,
      guestsAllowed: true,
    });
    const deps = { rooms: stores.rooms, directs: stores.directs };
    assert.deepEqual(await openDirect(deps, ANA, BEN), {
      ok: false,
      reason: "taken",
    });
    assert.deepEqual(await stores.directs.conversations(ANA.id, 10), []);
  } finally {
    await stores.close();
  }
});

Deno.test("conversationsOf: unread counts messages only: not reactions, edits or deleted messages; capped", async () => {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 1_000,
  });
  try {
    const deps = { directs: stores.directs, store: stores.messages };
    const opened = await openDirect(
      { rooms: stores.rooms, directs: stores.directs },
      ANA,
      BEN,
    );
    assert.ok(opened.ok);
    const room = opened.room;
    const post = async (text: string) =>
      (await stores.messages.append({ room, user: ANA, text, clientId: text }))
        .message.seq;
    const act = (op: Parameters<typeof stores.messages.applyEvent>[0]["op"]) =>
      stores.messages.applyEvent({
        room,
        user: ANA,
        clientId: crypto.randomUUID(),
        op,
      });
    const first = await post("one");
    await stores.directs.markRead(BEN.id, room, first);
    const second = await post("two");
    const third = await post("three");
    await act({ kind: "react", target: first, emoji: "👍", on: true });
    await act({ kind: "edit", target: second, text: "two, edited" });
    await act({ kind: "delete", target: third, by: "author" });
    const unread = async () => (await conversationsOf(deps, BEN.id))[0].unread;
    // seq 2..6 follow the marker: two messages (one since deleted) and three events.
    assert.equal(await unread(), 1);
    await stores.directs.markRead(
      BEN.id,
      room,
      await stores.messages.lastSeq(room),
    );
    assert.equal(await unread(), 0);
    await act({ kind: "react", target: second, emoji: "🎉", on: true });
    assert.equal(await unread(), 0, "a reaction is not an unread message");
    for (let i = 0; i < MAX_UNREAD_COUNTED + 20; i++) await post(`m${i}`);
    assert.equal(await unread(), MAX_UNREAD_COUNTED);
  } finally {
    await stores.close();
  }
});

import assert from "node:assert/strict";
import {
  conversationsOf,
  openDirect,
  sortConversations,
  unreadCount,
} from "../../lib/chat/direct.ts";
import { directRoomName } from "../../lib/chat/access.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { ChatUser } from "../../lib/chat/types.ts";

const ANA: ChatUser = { id: "google:ana", name: "Ana", kind: "google" };
const BEN: ChatUser = { id: "google:ben", name: "Ben", kind: "google" };
const GUS: ChatUser = { id: "guest:gus", name: "Gus", kind: "guest" };

Deno.test("unreadCount and sortConversations", () => {
  assert.equal(unreadCount(12, 9), 3);
  assert.equal(unreadCount(3, 9), 0);
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

    // Unread: the room's lastSeq minus the reader's marker.
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

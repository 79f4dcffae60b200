import assert from "node:assert/strict";
import { LOBBY_ROOMS } from "../../../../lib/chat/lobby.ts";
import type { LobbyRoom } from "../../../../lib/chat/types.ts";
import { startServer } from "../../../_helpers/server.ts";

Deno.test("GET /api/rooms with 1,020 rooms lists the newest active ones, including general with its right lastSeq", async () => {
  const server = await startServer();
  try {
    const store = server.services.store;
    const user = { id: "guest:seed", name: "Seed", kind: "guest" as const };
    const post = (room: string, n: number) =>
      store.append({ room, user, text: `seed ${n}`, clientId: `${room}-${n}` });
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => post("general", i)),
    );
    // Named to sort before "general": the first 1,000 keys used to hide it.
    const crowd = Array.from(
      { length: 1_020 },
      (_, i) => `a${String(i).padStart(4, "0")}`,
    );
    const crowdPosts = await Promise.all(crowd.map((room) => post(room, 0)));
    // General's last message must be the newest by the clock: rooms active in
    // the same millisecond rank by name, and under load a whole batch of the
    // crowd can share general's millisecond and push it off the list.
    const crowdLast = Math.max(...crowdPosts.map((p) => p.message.ts));
    while (Date.now() <= crowdLast) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const last = await post("general", 400);

    const res = await fetch(`${server.origin}/api/rooms`);
    assert.equal(res.status, 200);
    const { rooms } = await res.json() as { rooms: LobbyRoom[] };
    assert.equal(rooms.length, LOBBY_ROOMS);
    assert.deepEqual(rooms.find((r) => r.room === "general"), {
      room: "general",
      online: 0,
      lastSeq: 401,
      lastTs: last.message.ts,
    });
    for (const room of rooms.filter((r) => r.room !== "general")) {
      assert.ok(crowd.includes(room.room), room.room);
      assert.equal(room.lastSeq, 1);
      assert.ok(room.lastTs <= last.message.ts);
    }
    // The crowd rooms listed are its newest.
    const listed = new Set(rooms.map((r) => r.room));
    const unlisted = await store.summaries(crowd.filter((r) => !listed.has(r)));
    assert.equal(unlisted.length, crowd.length - (LOBBY_ROOMS - 1));
    const oldestListed = Math.min(...rooms.map((r) => r.lastTs));
    assert.ok(unlisted.every((r) => r.lastTs <= oldestListed));
  } finally {
    await server.close();
  }
});

/**
 * The lobby snapshot on the real stores (`createStore`, KV in memory) and a
 * real presence tracker: the newest active rooms among more than the 1,000
 * a scan used to read, and the true last message of a populated room that
 * is not among them.
 */
import assert from "node:assert/strict";
import {
  Lobby,
  LOBBY_RECENT,
  LOBBY_ROOMS,
  MAX_LOBBY_LOOKUPS,
  rankRooms,
  roomsToLookUp,
} from "../../lib/chat/lobby.ts";
import {
  type Channel,
  MemoryLayer,
  newChannelName,
  newInstanceId,
} from "../../lib/chat/layer.ts";
import { PresenceTracker } from "../../lib/chat/presence_tracker.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { quietLogger } from "../../lib/log.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { MessageStore } from "../../lib/store/types.ts";

const ANA: ChatUser = { id: "guest:ana", name: "Ana", kind: "guest" };

/** The lobby on fresh stores, each message one clock tick after the last. */
async function withLobby(
  fn: (
    lobby: Lobby,
    store: MessageStore,
    tracker: PresenceTracker,
  ) => Promise<void>,
): Promise<void> {
  let tick = Date.UTC(2030, 0, 1);
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 10_000,
  }, () => ++tick);
  const tracker = new PresenceTracker(
    stores.presence,
    newInstanceId(),
    new MemoryLayer(),
    quietLogger,
  );
  await stores.presence.heartbeat(tracker.instance);
  try {
    await fn(new Lobby(stores.messages, tracker), stores.messages, tracker);
  } finally {
    await tracker.stop();
    await stores.close();
  }
}

/** `count` messages into `room`, concurrently (group commits). */
function post(store: MessageStore, room: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.append({
        room,
        user: ANA,
        text: `hello ${i}`,
        clientId: `${room}-${i}-${crypto.randomUUID()}`,
      })),
  );
}

/** 1,020 rooms of one message each, named to sort before "general". */
const crowd = Array.from(
  { length: 1_020 },
  (_, i) => `a${String(i).padStart(4, "0")}`,
);

Deno.test("lobby with 1,020 rooms: the newest active ones, general first with its right lastSeq", async () => {
  await withLobby(async (lobby, store) => {
    await post(store, "general", 400);
    await Promise.all(crowd.map((room) => post(store, room, 1)));
    const [last] = await post(store, "general", 1);

    const rooms = await lobby.rooms();
    assert.equal(rooms.length, LOBBY_ROOMS);
    assert.deepEqual(rooms[0], {
      room: "general",
      online: 0,
      lastSeq: 401,
      lastTs: last.message.ts,
    });
    // Then the newest of the crowd, newest first, each with its one message.
    assert.deepEqual(
      rooms.slice(1).map((r) => [r.room, r.lastSeq]),
      crowd.toReversed().slice(0, LOBBY_ROOMS - 1).map((room) => [room, 1]),
    );
  });
});

Deno.test("lobby: a populated room outside the newest active ones is listed with its true last message", async () => {
  await withLobby(async (lobby, store, tracker) => {
    const history = await post(store, "general", 400);
    await Promise.all(crowd.map((room) => post(store, room, 1)));
    const channel: Channel = {
      name: newChannelName(tracker.instance),
      send: () => {},
    };
    await tracker.join("general", ANA, channel);

    const rooms = await lobby.rooms();
    assert.deepEqual(rooms[0], {
      room: "general",
      online: 1,
      lastSeq: 400,
      lastTs: Math.max(...history.map((r) => r.message.ts)),
    });
    assert.equal(rooms.length, LOBBY_ROOMS);
    await tracker.leave("general", ANA, channel, Date.now());
  });
});

Deno.test("rankRooms: people online first, then the latest message, then the name", () => {
  const room = (name: string, online: number, lastTs: number) => ({
    room: name,
    online,
    lastTs,
    lastSeq: 1,
  });
  assert.deepEqual(
    rankRooms([
      room("quiet", 0, 50),
      room("b", 2, 10),
      room("a", 2, 10),
      room("busy", 3, 1),
      room("late", 2, 20),
    ]).map((r) => r.room),
    ["busy", "late", "a", "b", "quiet"],
  );
});

Deno.test("roomsToLookUp: populated rooms not already known, as many as can make the list, ties included, bounded", () => {
  const online = new Map<string, number>([["known", 9], ["one", 1]]);
  for (let i = 0; i < LOBBY_ROOMS + 5; i++) online.set(`r${i}`, i < 3 ? 5 : 2);
  const picked = roomsToLookUp(online, new Set(["known"]));
  // 3 rooms of 5 people, then every room of 2 (the 20th has 2); none of 1.
  assert.deepEqual(picked.slice(0, 3).sort(), ["r0", "r1", "r2"]);
  assert.equal(picked.length, LOBBY_ROOMS + 5);
  assert.ok(!picked.includes("one") && !picked.includes("known"));
  assert.deepEqual(roomsToLookUp(new Map([["x", 1]]), new Set()), ["x"]);

  const many = new Map(
    Array.from({ length: 5_000 }, (_, i) => [`s${i}`, 1] as [string, number]),
  );
  assert.equal(roomsToLookUp(many, new Set()).length, MAX_LOBBY_LOOKUPS);
  assert.ok(LOBBY_RECENT >= LOBBY_ROOMS);
});

/**
 * Every entry point of a private room answers a non-member exactly as a page
 * that does not exist (404, the same body): the room page, its WebSocket, the
 * history API, posting, edits, deletes and reactions over HTTP, and the
 * lobby (which never lists it). Members (owner, moderator, member) get in;
 * an unlisted room is reachable by name but not listed.
 */
import assert from "node:assert/strict";
import { DIRECT_ROOM_SETTINGS } from "../../lib/chat/access.ts";
import { enterRoom, maySeeRoom } from "../../lib/chat/room_gate.ts";
import type { LobbyRoom, RoomSettings } from "../../lib/chat/types.ts";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { googleChatUser, signIn } from "../_helpers/users.ts";
import { handshakeStatus } from "../_helpers/ws_client.ts";

const PRIVATE: RoomSettings = {
  ...DIRECT_ROOM_SETTINGS,
  postPolicy: "everyone",
  guestsAllowed: true,
};
const ANA = googleChatUser("Ana");
const BEN = googleChatUser("Ben");
const MIA = googleChatUser("Mia");
const CAL = googleChatUser("Cal");

async function setUp(server: TestServer) {
  const { rooms, store } = server.services;
  await rooms.create("team", ANA, PRIVATE);
  await rooms.setRole("team", BEN, "member");
  await rooms.setRole("team", MIA, "moderator");
  await rooms.create("quiet", ANA, { ...PRIVATE, visibility: "unlisted" });
  for (const room of ["team", "quiet", "open"]) {
    await store.append({ room, user: ANA, text: "hi", clientId: `${room}-1` });
  }
  const people = {
    ana: await signIn(server, ANA),
    ben: await signIn(server, BEN),
    mia: await signIn(server, MIA),
    cal: await signIn(server, CAL),
    gus: await server.guest("Gus"),
  };
  const missing = await fetch(`${server.origin}/no/such/page`);
  return { people, notFound: await missing.text() };
}

function request(
  server: TestServer,
  path: string,
  cookie: string | null,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (cookie) headers.set("cookie", cookie);
  headers.set("origin", server.origin);
  return fetch(`${server.origin}${path}`, { ...init, headers });
}

Deno.test("enterRoom reads the record and role, then applies canSeeRoom", async () => {
  const server = await startServer();
  try {
    await setUp(server);
    const { rooms } = server.services;
    assert.deepEqual(
      (await enterRoom(rooms, "team", BEN))?.role,
      "member",
    );
    assert.equal((await enterRoom(rooms, "team", ANA))?.role, "owner");
    assert.equal(await enterRoom(rooms, "team", CAL), null);
    assert.equal(await enterRoom(rooms, "team", null), null);
    assert.deepEqual(await enterRoom(rooms, "open", null), {
      info: null,
      role: null,
    });
  } finally {
    await server.close();
  }
});

Deno.test("maySeeRoom answers as enterRoom, reading the role only where the record makes it matter", async () => {
  const server = await startServer();
  try {
    await setUp(server);
    const { rooms } = server.services;
    await rooms.create("dm-x", null, DIRECT_ROOM_SETTINGS);
    const readsOf: string[] = [];
    const counted = {
      get: rooms.get.bind(rooms),
      access: (room: string, userId: string) => {
        readsOf.push(room);
        return rooms.access(room, userId);
      },
    };
    const info = (room: string) => rooms.get(room);
    for (const room of ["team", "quiet", "open", "dm-x"]) {
      for (const user of [ANA, BEN, MIA, CAL]) {
        assert.equal(
          await maySeeRoom(counted, room, user, info),
          (await enterRoom(rooms, room, user)) !== null,
          `${room} ${user.name}`,
        );
      }
    }
    // The role was read for the private room's non-owners and the direct
    // room only: an unlisted or public room, or the owner, needs the record.
    assert.deepEqual(readsOf, [
      "team",
      "team",
      "team",
      "dm-x",
      "dm-x",
      "dm-x",
      "dm-x",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("a private room is a 404 for a non-member everywhere: page, socket, history, posting, events", async () => {
  const server = await startServer();
  try {
    const { people, notFound } = await setUp(server);
    const outsiders = [people.cal.cookie, people.gus.cookie];
    for (const cookie of [...outsiders, null]) {
      const page = await request(server, "/chat/team", cookie);
      assert.equal(page.status, 404);
      assert.equal(await page.text(), notFound, "the same as no page at all");
      const history = await request(
        server,
        "/api/rooms/team/messages",
        cookie,
      );
      assert.equal(history.status, 404);
      assert.equal(await history.text(), notFound);
      const after = await request(
        server,
        "/api/rooms/team/messages?after=0",
        cookie,
      );
      assert.equal(after.status, 404);
      await after.body?.cancel();
    }
    for (const cookie of outsiders) {
      assert.equal(
        await handshakeStatus(server.wsUrl("team"), {
          cookie,
          origin: server.origin,
        }),
        404,
      );
      const json = { "content-type": "application/json" };
      const post = await request(server, "/api/rooms/team/messages", cookie, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ text: "let me in" }),
      });
      assert.equal(post.status, 404);
      assert.equal(await post.text(), notFound);
      const edit = await request(
        server,
        "/api/rooms/team/messages/1",
        cookie,
        { method: "PATCH", headers: json, body: '{"text":"x"}' },
      );
      assert.equal(edit.status, 404);
      assert.equal(await edit.text(), notFound);
      const del = await request(
        server,
        "/api/rooms/team/messages/1",
        cookie,
        { method: "DELETE" },
      );
      assert.equal(del.status, 404);
      await del.body?.cancel();
      const react = await request(
        server,
        "/api/rooms/team/messages/1/reactions",
        cookie,
        { method: "POST", headers: json, body: '{"emoji":"👍","on":true}' },
      );
      assert.equal(react.status, 404);
      await react.body?.cancel();
    }
    assert.equal(await server.services.store.lastSeq("team"), 1);
  } finally {
    await server.close();
  }
});

Deno.test("every other room API is a 404 for a non-member too: settings, roles, owner, moderation, reports, audit, invites, members", async () => {
  const server = await startServer();
  try {
    const { people, notFound } = await setUp(server);
    const json = { "content-type": "application/json" };
    const calls: [string, string, unknown?][] = [
      ["GET", "/api/rooms/team/settings"],
      ["PUT", "/api/rooms/team/settings", { topic: "mine now" }],
      ["PUT", "/api/rooms/team/roles", {
        user: { id: CAL.id, name: "Cal" },
        role: "moderator",
      }],
      ["POST", "/api/rooms/team/owner", {}],
      ["POST", "/api/rooms/team/moderation", {
        action: "kick",
        user: { id: BEN.id, name: "Ben" },
      }],
      ["GET", "/api/rooms/team/reports"],
      ["POST", "/api/rooms/team/reports", { target: 1 }],
      ["DELETE", "/api/rooms/team/reports/1"],
      ["GET", "/api/rooms/team/audit"],
      ["GET", "/api/rooms/team/invites"],
      ["POST", "/api/rooms/team/invites", {}],
      ["DELETE", "/api/rooms/team/invites/x"],
      ["POST", "/api/rooms/team/members", { name: "Cal" }],
    ];
    for (const cookie of [people.cal.cookie, people.gus.cookie, null]) {
      for (const [method, path, body] of calls) {
        const res = await request(server, path, cookie, {
          method,
          headers: json,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(await res.text(), notFound, `${method} ${path}`);
      }
    }
    const info = await server.services.rooms.get("team");
    assert.equal(info?.owner?.id, ANA.id);
    assert.equal(info?.settings.topic, "");
  } finally {
    await server.close();
  }
});

Deno.test("the owner, a moderator and a member get into a private room everywhere", async () => {
  const server = await startServer();
  try {
    const { people } = await setUp(server);
    for (const { cookie } of [people.ana, people.mia, people.ben]) {
      const page = await request(server, "/chat/team", cookie);
      assert.equal(page.status, 200);
      await page.body?.cancel();
      const history = await request(server, "/api/rooms/team/messages", cookie);
      assert.equal(history.status, 200);
      assert.equal((await history.json()).messages.length, 1);
      assert.equal(
        await handshakeStatus(server.wsUrl("team"), {
          cookie,
          origin: server.origin,
        }),
        101,
      );
    }
    const post = await request(
      server,
      "/api/rooms/team/messages",
      people.ben.cookie,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "inside" }),
      },
    );
    assert.equal(post.status, 201);
  } finally {
    await server.close();
  }
});

Deno.test("the lobby lists public rooms only: never private or unlisted, not even to members; unlisted ones open by name", async () => {
  const server = await startServer();
  try {
    const { people } = await setUp(server);
    for (const cookie of [people.ana.cookie, people.cal.cookie, null]) {
      server.services.lobby.invalidate();
      const res = await request(server, "/api/rooms", cookie);
      const { rooms } = await res.json() as { rooms: LobbyRoom[] };
      assert.deepEqual(rooms.map((r) => r.room), ["open"]);
      const lobby = await (await request(server, "/", cookie)).text();
      assert.ok(lobby.includes("open"));
      assert.ok(!lobby.includes("team") && !lobby.includes("quiet"));
    }
    const unlisted = await request(server, "/chat/quiet", people.cal.cookie);
    assert.equal(unlisted.status, 200);
    await unlisted.body?.cancel();
    const history = await request(server, "/api/rooms/quiet/messages", null);
    assert.equal(history.status, 200);
    await history.body?.cancel();
  } finally {
    await server.close();
  }
});

/**
 * Adding a person by name: resolved from the directory (people who signed
 * in lately), one match added, several offered, none a 404; moderators only.
 */
import assert from "node:assert/strict";
import { DIRECT_ROOM_SETTINGS } from "../../../../../lib/chat/access.ts";
import { DEFAULT_ROOM_SETTINGS } from "../../../../../lib/chat/moderation.ts";
import { startServer, type TestServer } from "../../../../_helpers/server.ts";
import { TestClient } from "../../../../_helpers/ws_client.ts";
import { googleChatUser, signIn } from "../../../../_helpers/users.ts";

const ANA = googleChatUser("Ana");
const BEN = googleChatUser("Ben");

function add(server: TestServer, cookie: string, body: unknown) {
  return fetch(`${server.origin}/api/rooms/team/members`, {
    method: "POST",
    headers: {
      cookie,
      origin: server.origin,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

Deno.test("add by name: one match becomes a member and can enter; a second add changes nothing", async () => {
  const server = await startServer();
  try {
    await server.services.rooms.create("team", ANA, DIRECT_ROOM_SETTINGS);
    const ana = (await signIn(server, ANA)).cookie;
    const ben = (await signIn(server, BEN)).cookie;
    const before = await fetch(`${server.origin}/chat/team`, {
      headers: { cookie: ben },
    });
    assert.equal(before.status, 404);
    await before.body?.cancel();

    const res = await add(server, ana, { name: "ben" });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), {
      member: { id: BEN.id, name: "Ben" },
      role: "member",
      added: true,
    });
    const page = await fetch(`${server.origin}/chat/team`, {
      headers: { cookie: ben },
    });
    assert.equal(page.status, 200);
    await page.body?.cancel();
    const { entries } = await server.services.rooms.auditPage(
      "team",
      undefined,
      5,
    );
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor.id, e.subject?.id]),
      [["add", ANA.id, BEN.id]],
    );
    const again = await add(server, ana, { name: "Ben" });
    assert.equal(again.status, 200);
    assert.equal((await again.json()).added, false);
    // Ben, a member, may not add others.
    const byBen = await add(server, ben, { name: "Ana" });
    assert.equal(byBen.status, 403);
    await byBen.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("add by name: unknown names 404, several of one name 409 with candidates, guests only where allowed", async () => {
  const server = await startServer();
  try {
    await server.services.rooms.create("team", ANA, DIRECT_ROOM_SETTINGS);
    const ana = (await signIn(server, ANA)).cookie;
    const unknown = await add(server, ana, { name: "Nobody" });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error, "unknown_person");

    const sam1 = await server.guest("Sam");
    const sam2 = { ...googleChatUser("Sam"), id: "google:sam-2" };
    await signIn(server, sam2);
    const two = await add(server, ana, { name: "sam" });
    assert.equal(two.status, 409);
    const { candidates } = await two.json();
    assert.deepEqual(
      candidates.map((p: { id: string }) => p.id).sort(),
      [sam1.user.id, sam2.id].sort(),
    );
    // The room takes no guests: the guest Sam cannot be added; the Google one can.
    const guest = await add(server, ana, { userId: sam1.user.id });
    assert.equal(guest.status, 403);
    assert.equal((await guest.json()).error, "guests_not_allowed");
    const picked = await add(server, ana, { userId: sam2.id });
    assert.equal(picked.status, 201);
    await picked.body?.cancel();
    assert.equal(
      (await server.services.rooms.standing("team", sam2.id)).role,
      "member",
    );
  } finally {
    await server.close();
  }
});

Deno.test("add by name tells the person's open socket: in a members-only room they post at once, without reconnecting", async () => {
  const server = await startServer();
  try {
    await server.services.rooms.create("team", ANA, {
      ...DEFAULT_ROOM_SETTINGS,
      postPolicy: "members",
    });
    const ana = (await signIn(server, ANA)).cookie;
    const ben = (await signIn(server, BEN)).cookie;
    const socket = await TestClient.connect(server.wsUrl("team"), {
      cookie: ben,
      origin: server.origin,
    });
    await socket.nextOf("standing");
    socket.send({ type: "message", text: "let me in", clientId: "b1" });
    const refused = await socket.nextOf("error");
    assert.equal(refused.clientId, "b1");
    assert.equal(refused.code, "members_only");

    const res = await add(server, ana, { name: "Ben" });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    await socket.next((f) => f.type === "standing" && f.role === "member");
    socket.send({ type: "message", text: "thanks", clientId: "b2" });
    await socket.next((f) =>
      f.type === "message" && f.message.clientId === "b2"
    );
    await socket.close();
  } finally {
    await server.close();
  }
});

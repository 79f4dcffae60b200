/**
 * Invite links over HTTP: the owner and moderators create, list and revoke
 * them (with CSRF, like every state-changing route); a member may not; a
 * non-member of a private room gets 404.
 */
import assert from "node:assert/strict";
import { DIRECT_ROOM_SETTINGS } from "../../../../../lib/chat/access.ts";
import {
  DEFAULT_INVITE_HOURS,
  DEFAULT_INVITE_USES,
  MAX_LISTED_INVITES,
} from "../../../../../lib/chat/invites.ts";
import { storeInvite } from "../../../../_helpers/invites.ts";
import { startServer, type TestServer } from "../../../../_helpers/server.ts";
import { googleChatUser, signIn } from "../../../../_helpers/users.ts";

const ANA = googleChatUser("Ana");
const MIA = googleChatUser("Mia");
const BEN = googleChatUser("Ben");
const CAL = googleChatUser("Cal");

async function setUp(server: TestServer) {
  const { rooms } = server.services;
  await rooms.create("team", ANA, DIRECT_ROOM_SETTINGS);
  await rooms.setRole("team", MIA, "moderator");
  await rooms.setRole("team", BEN, "member");
  return {
    ana: (await signIn(server, ANA)).cookie,
    mia: (await signIn(server, MIA)).cookie,
    ben: (await signIn(server, BEN)).cookie,
    cal: (await signIn(server, CAL)).cookie,
  };
}

function call(
  server: TestServer,
  method: string,
  path: string,
  cookie: string,
  body?: unknown,
  origin = server.origin,
): Promise<Response> {
  return fetch(`${server.origin}${path}`, {
    method,
    headers: { cookie, origin, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

Deno.test("the owner and moderators create, list and revoke invite links", async () => {
  const server = await startServer();
  try {
    const people = await setUp(server);
    const made = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.ana,
      { hours: 2, uses: 3 },
    );
    assert.equal(made.status, 201);
    const { invite } = await made.json();
    assert.equal(invite.room, "team");
    assert.equal(invite.maxUses, 3);
    assert.equal(invite.uses, 0);
    assert.equal(invite.expires - invite.created, 2 * 3_600_000);
    assert.equal(invite.url, `${server.origin}/invite/${invite.token}`);

    const byMia = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.mia,
      {},
    );
    assert.equal(byMia.status, 201);
    const second = (await byMia.json()).invite;
    assert.equal(second.maxUses, DEFAULT_INVITE_USES);
    assert.equal(
      second.expires - second.created,
      DEFAULT_INVITE_HOURS * 3_600_000,
    );

    const listed = await call(
      server,
      "GET",
      "/api/rooms/team/invites",
      people.mia,
    );
    assert.deepEqual(
      (await listed.json()).invites.map((i: { token: string }) => i.token)
        .sort(),
      [invite.token, second.token].sort(),
    );

    const revoked = await call(
      server,
      "DELETE",
      `/api/rooms/team/invites/${invite.token}`,
      people.mia,
    );
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    // Revoking it again changes nothing and adds nothing to the audit log.
    const twice = await call(
      server,
      "DELETE",
      `/api/rooms/team/invites/${invite.token}`,
      people.mia,
    );
    assert.equal(twice.status, 200);
    await twice.body?.cancel();
    const after = await call(
      server,
      "GET",
      "/api/rooms/team/invites",
      people.ana,
    );
    assert.deepEqual(
      (await after.json()).invites.map((i: { token: string }) => i.token),
      [second.token],
    );
    const { entries } = await server.services.rooms.auditPage(
      "team",
      undefined,
      5,
    );
    assert.deepEqual(
      entries.map((e) => `${e.action} ${e.actor.id}`).sort(),
      [`invite ${ANA.id}`, `invite ${MIA.id}`, `revoke_invite ${MIA.id}`],
    );
    const again = await call(
      server,
      "DELETE",
      `/api/rooms/team/invites/nosuchtoken`,
      people.ana,
    );
    assert.equal(again.status, 404);
    await again.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("invites: a member gets 403, a non-member 404, bad limits 400, a cross-site post 403", async () => {
  const server = await startServer();
  try {
    const people = await setUp(server);
    const member = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.ben,
      {},
    );
    assert.equal(member.status, 403);
    assert.equal((await member.json()).error, "not_moderator");
    const stranger = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.cal,
      {},
    );
    assert.equal(stranger.status, 404);
    await stranger.body?.cancel();
    const list = await call(
      server,
      "GET",
      "/api/rooms/team/invites",
      people.cal,
    );
    assert.equal(list.status, 404);
    await list.body?.cancel();
    const bad = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.ana,
      {
        uses: 0,
      },
    );
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "bad_invite");
    // A form from another site (what a browser sends cross-site without CORS).
    const forged = await fetch(`${server.origin}/api/rooms/team/invites`, {
      method: "POST",
      headers: {
        cookie: people.ana,
        origin: "https://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "uses=100",
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    assert.deepEqual(await server.services.invites.list("team", 10), []);
  } finally {
    await server.close();
  }
});

Deno.test("invite links made and revoked spend the moderator's action budget: past it, 429", async () => {
  const server = await startServer({ RATE_LIMIT_BURST: "3" });
  try {
    const people = await setUp(server);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call(
        server,
        "POST",
        "/api/rooms/team/invites",
        people.mia,
        {},
      );
      statuses.push(res.status);
      await res.body?.cancel();
    }
    // The burst of 3, then refusals (the budget refills at 2 a second, so a
    // slow machine may see one more made before the next refusal).
    assert.deepEqual(statuses.slice(0, 3), [201, 201, 201]);
    assert.ok(statuses.includes(429), statuses.join(" "));
    const made = statuses.filter((s) => s === 201).length;
    const { entries } = await server.services.rooms.auditPage(
      "team",
      undefined,
      20,
    );
    assert.equal(entries.filter((e) => e.action === "invite").length, made);
  } finally {
    await server.close();
  }
});

Deno.test("a room holds at most MAX_LISTED_INVITES usable links, so none is hidden from its moderators' list: one more is a 409 until one is revoked", async () => {
  const server = await startServer();
  try {
    const people = await setUp(server);
    for (let i = 0; i < MAX_LISTED_INVITES; i++) {
      await storeInvite(server, ANA);
    }
    const refused = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.ana,
      {},
    );
    assert.equal(refused.status, 409);
    assert.equal((await refused.json()).error, "too_many_invites");
    const listed = await call(
      server,
      "GET",
      "/api/rooms/team/invites",
      people.ana,
    );
    const { invites } = await listed.json();
    assert.equal(invites.length, MAX_LISTED_INVITES);
    const revoked = await call(
      server,
      "DELETE",
      `/api/rooms/team/invites/${invites[0].token}`,
      people.ana,
    );
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    const made = await call(
      server,
      "POST",
      "/api/rooms/team/invites",
      people.ana,
      {},
    );
    assert.equal(made.status, 201);
    await made.body?.cancel();
  } finally {
    await server.close();
  }
});

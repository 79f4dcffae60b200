/**
 * Visiting an invite link: a signed-in person is asked, and joining (a POST
 * from the page) makes them a member and lands them in the room; an expired,
 * used-up, revoked or unknown link gets a page that says which; signed out,
 * the page offers sign-in.
 */
import assert from "node:assert/strict";
import { DIRECT_ROOM_SETTINGS } from "../../../lib/chat/access.ts";
import { INVITE_REFUSALS, newInviteToken } from "../../../lib/chat/invites.ts";
import type { Invite } from "../../../lib/store/access_types.ts";
import { storeInvite } from "../../_helpers/invites.ts";
import { startServer, type TestServer } from "../../_helpers/server.ts";
import { googleChatUser, signIn } from "../../_helpers/users.ts";

const ANA = googleChatUser("Ana");
const BEN = googleChatUser("Ben");
const CAL = googleChatUser("Cal");

/** An invite to "team" by Ana (see `storeInvite`). */
function invite(server: TestServer, overrides: Partial<Invite> = {}) {
  return storeInvite(server, ANA, overrides);
}

function visit(server: TestServer, token: string, cookie?: string) {
  return fetch(`${server.origin}/invite/${token}`, {
    headers: cookie ? { cookie } : {},
    redirect: "manual",
  });
}

/** Joins by the page's button: a POST from the server's own origin (or `origin`). */
function join(
  server: TestServer,
  token: string,
  cookie: string,
  origin: string | null = server.origin,
) {
  return fetch(`${server.origin}/invite/${token}`, {
    method: "POST",
    headers: origin ? { cookie, origin } : { cookie },
    redirect: "manual",
  });
}

async function withRoom(
  fn: (server: TestServer) => Promise<void>,
  guestsAllowed = false,
) {
  const server = await startServer();
  try {
    await server.services.rooms.create("team", ANA, {
      ...DIRECT_ROOM_SETTINGS,
      guestsAllowed,
    });
    await fn(server);
  } finally {
    await server.close();
  }
}

Deno.test("a valid invite asks a signed-in person to join; joining makes them a member and redirects to the room", () =>
  withRoom(async (server) => {
    const link = await invite(server);
    const ben = (await signIn(server, BEN)).cookie;
    const asked = await visit(server, link.token, ben);
    assert.equal(asked.status, 200);
    assert.ok((await asked.text()).includes('data-testid="invite-confirm"'));
    assert.equal((await server.services.invites.get(link.token))?.uses, 0);
    const res = await join(server, link.token, ben);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/chat/team");
    assert.equal(
      (await server.services.rooms.standing("team", BEN.id)).role,
      "member",
    );
    const { entries } = await server.services.rooms.auditPage(
      "team",
      undefined,
      5,
    );
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor.id, e.detail]),
      [["join", BEN.id, "invite by Ana"]],
    );
    const page = await fetch(`${server.origin}/chat/team`, {
      headers: { cookie: ben },
    });
    assert.equal(page.status, 200);
    await page.body?.cancel();
    // Visiting again as a member takes no use; the link (1 use) is spent for others.
    const again = await visit(server, link.token, ben);
    assert.equal(again.status, 303);
    const cal = (await signIn(server, CAL)).cookie;
    const late = await visit(server, link.token, cal);
    assert.equal(late.status, 410);
    assert.match(await late.text(), /used as many times as it allows/);
    assert.equal(
      (await server.services.rooms.standing("team", CAL.id)).role,
      null,
    );
  }));

Deno.test("an expired invite is refused, and nobody joins", () =>
  withRoom(async (server) => {
    const link = await invite(server, {
      created: Date.now() - 7_200_000,
      expires: Date.now() - 1,
    });
    const res = await visit(
      server,
      link.token,
      (await signIn(server, BEN)).cookie,
    );
    assert.equal(res.status, 410);
    const html = await res.text();
    assert.ok(html.includes(INVITE_REFUSALS.expired.message));
    assert.ok(html.includes('data-reason="expired"'));
    assert.equal(
      (await server.services.rooms.standing("team", BEN.id)).role,
      null,
    );
  }));

Deno.test("a revoked invite is refused, and nobody joins", () =>
  withRoom(async (server) => {
    const link = await invite(server, { maxUses: 5 });
    await server.services.invites.revoke("team", link.token, ANA);
    const res = await visit(
      server,
      link.token,
      (await signIn(server, BEN)).cookie,
    );
    assert.equal(res.status, 410);
    assert.ok((await res.text()).includes(INVITE_REFUSALS.revoked.message));
    assert.equal(
      (await server.services.rooms.standing("team", BEN.id)).role,
      null,
    );
  }));

Deno.test("an unknown or malformed token is a 404 page", () =>
  withRoom(async (server) => {
    const cookie = (await signIn(server, BEN)).cookie;
    for (const token of [newInviteToken(), "x"]) {
      const res = await visit(server, token, cookie);
      assert.equal(res.status, 404);
      assert.ok((await res.text()).includes(INVITE_REFUSALS.not_found.message));
    }
  }));

Deno.test("signed out, the invite offers sign-in and takes no use; a guest joins only where guests are allowed", async () => {
  await withRoom(async (server) => {
    const link = await invite(server);
    const res = await visit(server, link.token);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(html.includes("You are invited to #team"));
    assert.equal((await server.services.invites.get(link.token))?.uses, 0);
    const gus = await server.guest("Gus");
    const refused = await visit(server, link.token, gus.cookie);
    assert.equal(refused.status, 403);
    assert.ok((await refused.text()).includes(INVITE_REFUSALS.guests.message));
  });
  await withRoom(async (server) => {
    const link = await invite(server);
    const gus = await server.guest("Gus");
    const res = await join(server, link.token, gus.cookie);
    assert.equal(res.status, 303);
    assert.equal(
      (await server.services.rooms.standing("team", gus.user.id)).role,
      "member",
    );
  }, true);
});

Deno.test("an invite link opened from another site joins nobody: the link only asks, and a join posted from elsewhere is refused", () =>
  withRoom(async (server) => {
    const link = await invite(server);
    const ben = (await signIn(server, BEN)).cookie;
    // A top-level navigation carries the Lax session cookie: it only asks.
    const asked = await fetch(`${server.origin}/invite/${link.token}`, {
      headers: { cookie: ben, "sec-fetch-site": "cross-site" },
      redirect: "manual",
    });
    assert.equal(asked.status, 200);
    await asked.body?.cancel();
    for (const origin of ["https://evil.example", null]) {
      const res = await join(server, link.token, ben, origin);
      assert.equal(res.status, 403, String(origin));
      assert.ok(
        (await res.text()).includes(INVITE_REFUSALS.cross_site.message),
      );
    }
    assert.equal(
      (await server.services.rooms.standing("team", BEN.id)).role,
      null,
    );
    assert.equal((await server.services.invites.get(link.token))?.uses, 0);
  }));

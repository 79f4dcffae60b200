/**
 * Direct messages over HTTP: A opens a conversation with B (JSON or the
 * presence list's form); it is one room per pair, listed for both with
 * unread counts, and invisible to C everywhere (page, socket, history,
 * posting, read markers, lists). Guests cannot start one, and are told why.
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import {
  SESSION_COOKIE,
  SESSION_ISSUER,
} from "../../../../lib/auth/session.ts";
import { TEST_SECRET } from "../../../_helpers/server.ts";
import { ROUTE_ERRORS } from "../../../../lib/web/errors.ts";
import { startServer, type TestServer } from "../../../_helpers/server.ts";
import { googleChatUser, signIn } from "../../../_helpers/users.ts";
import { handshakeStatus, TestClient } from "../../../_helpers/ws_client.ts";

const ANA = googleChatUser("Ana");
const BEN = googleChatUser("Ben");
const CAL = googleChatUser("Cal");

function call(
  server: TestServer,
  method: string,
  path: string,
  cookie: string | null,
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = {
    origin: server.origin,
    "content-type": "application/json",
  };
  if (cookie) headers.cookie = cookie;
  return fetch(`${server.origin}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: "manual",
  });
}

async function people(server: TestServer) {
  return {
    ana: (await signIn(server, ANA)).cookie,
    ben: (await signIn(server, BEN)).cookie,
    cal: (await signIn(server, CAL)).cookie,
  };
}

Deno.test("a DM between A and B: one room per pair, listed for both with unread counts, read markers", async () => {
  const server = await startServer();
  try {
    const p = await people(server);
    const opened = await call(server, "POST", "/api/dms", p.ana, {
      with: BEN.id,
    });
    assert.equal(opened.status, 200);
    const { room } = await opened.json();
    assert.match(room, /^dm-[0-9a-f]{32}$/);
    const fromBen = await call(server, "POST", "/api/dms", p.ben, {
      with: ANA.id,
    });
    assert.equal((await fromBen.json()).room, room, "found again");

    // A posts three messages over the socket; B sees them unread.
    const ana = await TestClient.connect(server.wsUrl(room), {
      cookie: p.ana,
      origin: server.origin,
    });
    await ana.next((f) => f.type === "welcome");
    for (const text of ["hi", "are you there?", "ping"]) {
      ana.send({ type: "message", text, clientId: crypto.randomUUID() });
      await ana.next((f) => f.type === "message");
    }
    ana.socket.close();
    await ana.closed;

    const list = async (cookie: string) =>
      (await (await call(server, "GET", "/api/dms", cookie)).json())
        .conversations;
    const forBen = await list(p.ben);
    assert.equal(forBen.length, 1);
    assert.equal(forBen[0].room, room);
    assert.deepEqual(forBen[0].with, { id: ANA.id, name: "Ana" });
    assert.equal(forBen[0].unread, 3);

    // B reads up to 2, then claims far past the end: kept to lastSeq.
    const read = await call(server, "POST", `/api/dms/${room}/read`, p.ben, {
      seq: 2,
    });
    assert.deepEqual(await read.json(), { read: 2 });
    assert.equal((await list(p.ben))[0].unread, 1);
    const far = await call(server, "POST", `/api/dms/${room}/read`, p.ben, {
      seq: 1_000,
    });
    assert.deepEqual(await far.json(), { read: 3 });
    assert.equal((await list(p.ben))[0].unread, 0);
    // Another message: unread again.
    await server.services.store.append({
      room,
      user: ANA,
      text: "one more",
      clientId: "x",
    });
    assert.equal((await list(p.ben))[0].unread, 1);
  } finally {
    await server.close();
  }
});

Deno.test("a DM between A and B is invisible to C: page, socket, history, posting, read marker, lists, lobby", async () => {
  const server = await startServer();
  try {
    const p = await people(server);
    const { room } = await (await call(server, "POST", "/api/dms", p.ana, {
      with: BEN.id,
    })).json();
    await server.services.store.append({
      room,
      user: ANA,
      text: "secret",
      clientId: "s",
    });
    const notFound = await (await fetch(`${server.origin}/no/such/page`))
      .text();
    for (const cookie of [p.cal, null]) {
      for (
        const [method, path, body] of [
          ["GET", `/chat/${room}`],
          ["GET", `/api/rooms/${room}/messages`],
          ["GET", `/api/rooms/${room}/messages?after=0`],
          ["POST", `/api/rooms/${room}/messages`, { text: "hello?" }],
          ["POST", `/api/rooms/${room}/messages/1/reactions`, {
            emoji: "👍",
            on: true,
          }],
        ] as const
      ) {
        const res = await call(server, method, path, cookie, body);
        const text = await res.text();
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(text, notFound, `${method} ${path}`);
        assert.ok(!text.includes("secret"));
      }
    }
    assert.equal(
      await handshakeStatus(server.wsUrl(room), {
        cookie: p.cal,
        origin: server.origin,
      }),
      404,
    );
    const read = await call(server, "POST", `/api/dms/${room}/read`, p.cal, {
      seq: 1,
    });
    assert.equal(read.status, 404);
    await read.body?.cancel();
    const calList = await call(server, "GET", "/api/dms", p.cal);
    assert.deepEqual(await calList.json(), { conversations: [] });
    server.services.lobby.invalidate();
    const lobby = await (await call(server, "GET", "/api/rooms", p.cal))
      .json();
    assert.ok(!JSON.stringify(lobby).includes(room));
    assert.equal(await server.services.store.lastSeq(room), 1);
    // A member cannot claim the conversation (it has no owner, for good).
    const claim = await call(
      server,
      "POST",
      `/api/rooms/${room}/owner`,
      p.ben,
      {},
    );
    assert.equal(claim.status, 403);
    await claim.body?.cancel();
    assert.equal((await server.services.rooms.get(room))?.owner, null);
    // Both members get in.
    for (const cookie of [p.ana, p.ben]) {
      const page = await call(server, "GET", `/chat/${room}`, cookie);
      assert.equal(page.status, 200);
      await page.body?.cancel();
    }
  } finally {
    await server.close();
  }
});

Deno.test("DMs: guests cannot start one (and are told why), nor be messaged; unknown people 404; a form lands in the room", async () => {
  const server = await startServer();
  try {
    const p = await people(server);
    const gus = await server.guest("Gus");
    const asGuest = await call(server, "POST", "/api/dms", gus.cookie, {
      with: ANA.id,
    });
    assert.equal(asGuest.status, 403);
    assert.deepEqual(await asGuest.json(), {
      error: "dm_guest",
      message: ROUTE_ERRORS.dm_guest.message,
    });
    const toGuest = await call(server, "POST", "/api/dms", p.ana, {
      with: gus.user.id,
    });
    assert.equal(toGuest.status, 403);
    await toGuest.body?.cancel();
    const self = await call(server, "POST", "/api/dms", p.ana, {
      with: ANA.id,
    });
    assert.equal(self.status, 400);
    await self.body?.cancel();
    const unknown = await call(server, "POST", "/api/dms", p.ana, {
      with: "google:nobody",
    });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const guestList = await call(server, "GET", "/api/dms", gus.cookie);
    assert.deepEqual(await guestList.json(), { conversations: [] });

    const form = await fetch(`${server.origin}/api/dms`, {
      method: "POST",
      headers: {
        cookie: p.ana,
        origin: server.origin,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ with: BEN.id }),
      redirect: "manual",
    });
    assert.equal(form.status, 303);
    assert.match(form.headers.get("location") ?? "", /^\/chat\/dm-[0-9a-f]+$/);
    const forged = await fetch(`${server.origin}/api/dms`, {
      method: "POST",
      headers: {
        cookie: p.cal,
        origin: "https://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ with: BEN.id }),
      redirect: "manual",
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    assert.deepEqual(
      await server.services.directs.conversations(CAL.id, 5),
      [],
    );
  } finally {
    await server.close();
  }
});

Deno.test("a session renewed past half its life keeps its person known: a DM can still be opened with them", async () => {
  const ttl = 3600;
  const server = await startServer({ SESSION_TTL_SECONDS: String(ttl) });
  try {
    const now = Math.floor(Date.now() / 1000);
    // Ben signed in long ago (the directory has forgotten him), still signed in.
    const aged = await new SignJWT({ name: "Ben", kind: "google" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(BEN.id)
      .setJti(crypto.randomUUID())
      .setIssuer(SESSION_ISSUER)
      .setAudience(SESSION_ISSUER)
      .setIssuedAt(now - ttl * 0.75)
      .setExpirationTime(now + ttl / 4)
      .sign(new TextEncoder().encode(TEST_SECRET));
    const ana = (await signIn(server, ANA)).cookie;
    const before = await call(server, "POST", "/api/dms", ana, {
      with: BEN.id,
    });
    assert.equal(before.status, 404);
    await before.body?.cancel();
    const visit = await fetch(`${server.origin}/`, {
      headers: { cookie: `${SESSION_COOKIE}=${aged}` },
    });
    await visit.body?.cancel();
    assert.ok(visit.headers.get("set-cookie")?.startsWith(SESSION_COOKIE));
    const after = await call(server, "POST", "/api/dms", ana, { with: BEN.id });
    assert.equal(after.status, 200);
    await after.body?.cancel();
  } finally {
    await server.close();
  }
});

import assert from "node:assert/strict";
import { CloseCode } from "../../../../lib/shared.ts";
import { SessionSigner } from "../../../../lib/auth/session.ts";
import { googleUserId } from "../../../../lib/auth/google.ts";
import { SIGN_IN_BURST } from "../../../../lib/chat/rate_limit.ts";
import {
  claims,
  CLIENT_ID,
  hs256WithPublicKey,
  type JwksServer,
  mint,
  newKey,
  type SigningKey,
  startJwks,
  tamper,
  unsigned,
} from "../../../_helpers/google.ts";
import {
  startServer,
  TEST_SECRET,
  type TestServer,
} from "../../../_helpers/server.ts";
import { TestClient } from "../../../_helpers/ws_client.ts";

async function withGoogle(
  fn: (
    ctx: { server: TestServer; key: SigningKey; jwks: JwksServer },
  ) => Promise<void>,
  env: Record<string, string> = {},
) {
  const key = await newKey("k1");
  const jwks = await startJwks([key]);
  const server = await startServer({
    GOOGLE_CLIENT_ID: CLIENT_ID,
    GOOGLE_JWKS_URL: jwks.url,
    ...env,
  });
  try {
    await fn({ server, key, jwks });
  } finally {
    await server.close();
    await jwks.close();
  }
}

function postCredential(
  server: TestServer,
  credential: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${server.origin}/api/auth/google`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: server.origin,
      "x-roomcast-csrf": "1",
      ...headers,
    },
    body: JSON.stringify({ credential }),
  });
}

Deno.test("POST /api/auth/google: a valid token sets an HttpOnly session cookie and stores the user by sub", async () => {
  await withGoogle(async ({ server, key }) => {
    const res = await postCredential(server, await mint(key));
    assert.equal(res.status, 200);
    const { user } = await res.json();
    assert.deepEqual(user, {
      id: await googleUserId("109876543210987654321"),
      name: "Ana Lima",
      kind: "google",
      picture: "https://lh3.googleusercontent.com/a/ana",
    });
    const setCookie = res.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /^roomcast_session=/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);
    const stored = await server.services.users.getGoogle(
      "109876543210987654321",
    );
    assert.equal(stored?.email, "ana@example.com");
    assert.equal(stored?.name, "Ana Lima");

    // The session works on the socket, with the Google name and picture.
    const cookie = setCookie.split(";")[0];
    const client = await TestClient.connect(server.wsUrl("g"), {
      cookie,
      origin: server.origin,
    });
    const welcome = await client.nextOf("welcome");
    assert.deepEqual(welcome.you, user);
    client.send({ type: "message", text: "hi", clientId: "g1" });
    assert.equal(
      (await client.nextOf("message")).message.user.picture,
      user.picture,
    );
    await client.close();
  });
});

Deno.test("POST /api/auth/google: one account starts at most SIGN_IN_BURST sessions at once; one token replayed gets 429 past it", async () => {
  await withGoogle(async ({ server, key }) => {
    const credential = await mint(key);
    const statuses: number[] = [];
    for (let i = 0; i < SIGN_IN_BURST + 2; i++) {
      const res = await postCredential(server, credential);
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [
      ...Array(SIGN_IN_BURST).fill(200),
      429,
      429,
    ]);
  });
});

Deno.test("POST /api/auth/google: each bad token → 401, a reason, and no cookie", async () => {
  await withGoogle(async ({ server, key }) => {
    const other = await newKey("other");
    const now = Math.floor(Date.now() / 1000);
    const bad: [string, unknown][] = [
      [
        "wrong_audience",
        await mint(key, claims({ aud: "x.apps.googleusercontent.com" })),
      ],
      [
        "wrong_issuer",
        await mint(key, claims({ iss: "https://evil.example" })),
      ],
      ["expired", await mint(key, claims({ iat: now - 7200, exp: now - 600 }))],
      ["not_yet_valid", await mint(key, claims({ nbf: now + 600 }))],
      ["bad_signature", unsigned()],
      ["bad_signature", await hs256WithPublicKey(key)],
      ["bad_signature", await mint(other, claims(), { kid: "k1" })],
      ["bad_signature", tamper(await mint(key), { email: "root@example.com" })],
      ["email_unverified", await mint(key, claims({ email_verified: false }))],
      ["malformed", { not: "a string" }],
    ];
    for (const [reason, credential] of bad) {
      const res = await postCredential(server, credential);
      assert.equal(res.status, 401, reason);
      assert.equal(res.headers.get("set-cookie"), null, reason);
      const body = await res.json();
      assert.equal(body.error, reason);
      assert.ok(body.message.length > 0);
    }
  });
});

Deno.test("POST /api/auth/google: a disallowed hd → 401", async () => {
  await withGoogle(async ({ server, key }) => {
    const res = await postCredential(
      server,
      await mint(key, claims({ hd: "other.com" })),
    );
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, "domain_not_allowed");
    const ok = await postCredential(
      server,
      await mint(key, claims({ hd: "example.com" })),
    );
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  }, { GOOGLE_ALLOWED_DOMAINS: "example.com" });
});

Deno.test("POST /api/auth/google: cross-site requests → 403; redirect mode needs the g_csrf_token pair", async () => {
  await withGoogle(async ({ server, key }) => {
    const token = await mint(key);
    const foreign = await postCredential(server, token, {
      origin: "https://evil.example",
    });
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    const noHeader = await fetch(`${server.origin}/api/auth/google`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.origin },
      body: JSON.stringify({ credential: token }),
    });
    assert.equal(noHeader.status, 403);
    await noHeader.body?.cancel();
    // A cross-site form post (the classic CSRF) is stopped by the csrf middleware.
    const form = (origin: string, cookie: string, csrf: string) =>
      fetch(`${server.origin}/api/auth/google?next=/chat/a`, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin,
          cookie,
        },
        body: new URLSearchParams({ credential: token, g_csrf_token: csrf })
          .toString(),
      });
    const evil = await form("https://evil.example", "g_csrf_token=abc", "abc");
    assert.equal(evil.status, 403);
    await evil.body?.cancel();
    const mismatched = await form(
      "https://accounts.google.com",
      "g_csrf_token=abc",
      "xyz",
    );
    assert.equal(mismatched.status, 403);
    await mismatched.body?.cancel();
    const redirect = await form(
      "https://accounts.google.com",
      "g_csrf_token=abc",
      "abc",
    );
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.get("location"), "/chat/a");
    assert.match(
      redirect.headers.get("set-cookie") ?? "",
      /^roomcast_session=/,
    );
    await redirect.body?.cancel();
  });
});

Deno.test("Bearer session tokens work on the JSON API; forged ones do not", async () => {
  const server = await startServer();
  try {
    const { token } = await server.guest("Bot");
    const post = (auth: string) =>
      fetch(`${server.origin}/api/rooms/bots/messages`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${auth}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ text: "beep" }),
      });
    const ok = await post(token);
    assert.equal(ok.status, 201);
    assert.equal((await ok.json()).message.user.name, "Bot");
    const forgedSigner = new SessionSigner(
      "another-secret-that-is-long-enough-123",
      { ttlSeconds: 60 },
    );
    const forged = await post(
      await forgedSigner.sign({
        id: "guest:x",
        name: "Mallory",
        kind: "guest",
      }),
    );
    assert.equal(forged.status, 401);
    await forged.body?.cancel();
    const garbage = await post("abc.def.ghi");
    assert.equal(garbage.status, 401);
    await garbage.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("sign-out closes the session's open sockets as session ended (4001, terminal for the client) and the token stops working", async () => {
  const server = await startServer();
  try {
    const { cookie, token } = await server.guest("Ana");
    const client = await TestClient.connect(server.wsUrl("a"), {
      cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    const res = await fetch(`${server.origin}/api/session/signout`, {
      method: "POST",
      headers: {
        cookie,
        origin: server.origin,
        "content-type": "application/json",
      },
      body: "{}",
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.match(res.headers.get("set-cookie") ?? "", /roomcast_session=;/);
    const closed = await client.closed;
    assert.equal(closed.code, CloseCode.sessionEnded);
    // A copy of the token (a second tab, a stolen cookie) is refused too.
    const again = await fetch(`${server.origin}/api/rooms/a/messages`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ text: "still here?" }),
    });
    assert.equal(again.status, 401);
    await again.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("sign-out on one instance closes the session's sockets on another within seconds", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/shared.kv` };
  const a = await startServer(env);
  const b = await startServer(env);
  try {
    const { cookie } = await a.guest("Ana");
    const onB = await TestClient.connect(b.wsUrl("a"), {
      cookie,
      origin: b.origin,
    });
    await onB.nextOf("welcome");
    const res = await fetch(`${a.origin}/api/session/signout`, {
      method: "POST",
      headers: { cookie, origin: a.origin, "content-type": "application/json" },
      body: "{}",
    });
    await res.body?.cancel();
    const closed = await onB.closed;
    assert.equal(closed.code, CloseCode.sessionEnded);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ALLOW_GUESTS=false: no guest sign-in, and an existing guest session can read but not post", async () => {
  const server = await startServer({ ALLOW_GUESTS: "false" });
  try {
    const refused = await fetch(`${server.origin}/api/session/guest`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.origin },
      body: JSON.stringify({ name: "Ana" }),
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("set-cookie"), null);
    await refused.body?.cancel();

    const signer = new SessionSigner(TEST_SECRET, { ttlSeconds: 600 });
    const token = await signer.sign({
      id: "guest:old",
      name: "Old Guest",
      kind: "guest",
    });
    const cookie = `roomcast_session=${token}`;
    const client = await TestClient.connect(server.wsUrl("a"), {
      cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    client.send({ type: "message", text: "hello", clientId: "ng1" });
    assert.equal((await client.nextOf("error")).code, "sign_in_required");
    const post = await fetch(`${server.origin}/api/rooms/a/messages`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ text: "hello" }),
    });
    assert.equal(post.status, 403);
    await post.body?.cancel();
    await client.close();
  } finally {
    await server.close();
  }
});

Deno.test("SESSION_SECRET rotation: tokens signed with the previous secret still verify", async () => {
  const previous = "the-previous-secret-0123456789-abcdefgh";
  const server = await startServer({ SESSION_SECRET_PREVIOUS: previous });
  try {
    const old = await new SessionSigner(previous, { ttlSeconds: 600 })
      .sign({ id: "guest:rot", name: "Rotated", kind: "guest" });
    const res = await fetch(`${server.origin}/api/rooms/rot/messages`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${old}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ text: "still signed in" }),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
  } finally {
    await server.close();
  }
});

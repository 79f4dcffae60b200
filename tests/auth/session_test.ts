/**
 * Session tokens: what `SessionSigner.verify` accepts and refuses. Tokens
 * other than the signer's own are minted with jose on the same secret, so
 * each refusal is for the one thing a test changes.
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import {
  HANDOVER_MAX_AGE_MS,
  MAX_TOKEN_CHARS,
  SESSION_CLOCK_TOLERANCE_S,
  SESSION_ISSUER,
  SessionSigner,
} from "../../lib/auth/session.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { createStore } from "../../lib/store/stores.ts";
import { MAX_HANDOVER_CHUNK_CHARS } from "../../lib/store/types.ts";

const SECRET = "s".repeat(40);
const OTHER_SECRET = "o".repeat(40);
const ana: ChatUser = { id: "guest:ana", name: "Ana", kind: "guest" };

const signer = new SessionSigner(SECRET, { ttlSeconds: 3_600 });
const now = () => Math.floor(Date.now() / 1000);

/** A token on `secret` with our usual claims, `claims` and `header` overriding them. */
function mint(
  claims: Record<string, unknown> = {},
  { secret = SECRET, header = { alg: "HS256", typ: "JWT" } }: {
    secret?: string;
    header?: { alg: string; [field: string]: unknown };
  } = {},
): Promise<string> {
  const t = now();
  return new SignJWT({
    name: "Ana",
    kind: "guest",
    sub: "guest:ana",
    jti: "sid-1",
    iss: SESSION_ISSUER,
    aud: SESSION_ISSUER,
    iat: t,
    exp: t + 600,
    ...claims,
  }).setProtectedHeader(header).sign(new TextEncoder().encode(secret));
}

/** `value` as JSON in base64url, as a JWT segment. */
function segment(value: Record<string, unknown>): string {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** `token` with its payload segment replaced by `payload`, signature kept. */
function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  return `${header}.${segment(payload)}.${signature}`;
}

/** `seconds` since the epoch as the clock `verify` checks against. */
const at = (seconds: number) => new Date(seconds * 1000);

Deno.test("a token the signer issued verifies to its user, session id and lifetime; a renewal keeps the session id", async () => {
  const token = await signer.sign({ ...ana, picture: "https://x.test/a.png" });
  const session = await signer.verify(token);
  assert.ok(session);
  assert.deepEqual(session.user, { ...ana, picture: "https://x.test/a.png" });
  assert.equal(session.exp - session.iat, 3_600);
  assert.equal(typeof session.sid, "string");
  // A renewal keeps the session id.
  const renewed = await signer.verify(await signer.sign(ana, session.sid));
  assert.equal(renewed?.sid, session.sid);
});

Deno.test("mint(): a token with our secret, header and claims verifies (so each refusal below is for what it changes)", async () => {
  const session = await signer.verify(await mint());
  assert.deepEqual(session?.user, ana);
  assert.equal(session?.sid, "sid-1");
});

Deno.test("during rotation tokens of the previous secret still verify; a third secret's do not", async () => {
  const rotated = new SessionSigner(OTHER_SECRET, {
    previous: SECRET,
    ttlSeconds: 3_600,
  });
  assert.deepEqual((await rotated.verify(await signer.sign(ana)))?.user, ana);
  assert.deepEqual((await rotated.verify(await rotated.sign(ana)))?.user, ana);
  assert.equal(await signer.verify(await rotated.sign(ana)), null);
  const third = new SessionSigner("t".repeat(40), { ttlSeconds: 3_600 });
  assert.equal(await rotated.verify(await third.sign(ana)), null);
});

Deno.test("a changed payload, a changed or missing signature, or extra segments are refused", async () => {
  const token = await mint();
  const forged = withPayload(token, {
    name: "Ana",
    kind: "guest",
    sub: "guest:admin",
    jti: "sid-1",
    iss: SESSION_ISSUER,
    aud: SESSION_ISSUER,
    iat: now(),
    exp: now() + 600,
  });
  assert.equal(await signer.verify(forged), null);
  const [header, payload, signature] = token.split(".");
  const flipped = signature.slice(0, -2) +
    (signature.at(-2) === "A" ? "B" : "A") + signature.at(-1);
  assert.equal(await signer.verify(`${header}.${payload}.${flipped}`), null);
  assert.equal(await signer.verify(`${header}.${payload}.`), null);
  assert.equal(await signer.verify(`${header}.${payload}`), null);
  assert.equal(await signer.verify(`${token}.${signature}`), null);
});

Deno.test("a token of another algorithm, or of none, is refused", async () => {
  assert.equal(
    await signer.verify(
      await mint({}, { header: { alg: "HS512", typ: "JWT" } }),
    ),
    null,
  );
  const [, payload] = (await mint()).split(".");
  const none = segment({ alg: "none", typ: "JWT" });
  assert.equal(await signer.verify(`${none}.${payload}.`), null);
});

Deno.test("another issuer or audience is refused; an audience list naming us is accepted", async () => {
  assert.equal(await signer.verify(await mint({ iss: "someone" })), null);
  assert.equal(await signer.verify(await mint({ aud: "someone" })), null);
  assert.equal(await signer.verify(await mint({ iss: undefined })), null);
  assert.equal(await signer.verify(await mint({ aud: ["a", "b"] })), null);
  assert.deepEqual(
    (await signer.verify(await mint({ aud: ["a", SESSION_ISSUER] })))?.user,
    ana,
  );
});

Deno.test("expiry and not-before are checked to the second, with the clock tolerance", async () => {
  const t = now();
  const tolerance = SESSION_CLOCK_TOLERANCE_S;
  const expiring = await mint({ iat: t - 100, exp: t });
  assert.ok(await signer.verify(expiring, at(t + tolerance - 1)));
  assert.equal(await signer.verify(expiring, at(t + tolerance)), null);
  const notYet = await mint({ iat: t - 100, nbf: t + 60 });
  assert.ok(await signer.verify(notYet, at(t + 60 - tolerance)));
  assert.equal(await signer.verify(notYet, at(t + 60 - tolerance - 1)), null);
  // And against the real clock: long expired, or valid only in an hour.
  assert.equal(await signer.verify(await mint({ exp: t - 3_600 })), null);
  assert.equal(await signer.verify(await mint({ nbf: t + 3_600 })), null);
});

Deno.test("a token missing a claim, or with a claim of the wrong kind, is refused", async () => {
  for (const claim of ["sub", "jti", "name", "kind", "iat", "exp"]) {
    assert.equal(
      await signer.verify(await mint({ [claim]: undefined })),
      null,
      claim,
    );
  }
  assert.equal(await signer.verify(await mint({ kind: "admin" })), null);
  assert.equal(
    await signer.verify(await mint({ exp: String(now() + 600) })),
    null,
  );
  assert.equal(await signer.verify(await mint({ sub: 42 })), null);
  assert.equal(await signer.verify(await mint({ name: ["Ana"] })), null);
});

Deno.test("nothing and garbage are refused without throwing; a valid token over MAX_TOKEN_CHARS is refused, one under it is not", async () => {
  for (const token of [undefined, null, "", "abc", "a.b.c", "...", "é.é.é"]) {
    assert.equal(await signer.verify(token), null, String(token));
  }
  const under = await mint({ name: "a".repeat(2_500) });
  assert.ok(under.length < MAX_TOKEN_CHARS, `${under.length} chars`);
  assert.ok(await signer.verify(under));
  const over = await mint({ name: "a".repeat(MAX_TOKEN_CHARS) });
  assert.equal(await signer.verify(over), null);
});

/** A signer on `secret` whose clock the test moves (ms since the epoch). */
function clocked(secret = SECRET, ttlSeconds = 600) {
  const clock = { now: Date.now() };
  const signer = new SessionSigner(secret, {
    ttlSeconds,
    now: () => clock.now,
  });
  return { signer, clock };
}

Deno.test("a verified token is remembered: verified again it is not checked again, and gives the same session", async () => {
  const { signer } = clocked();
  const token = await signer.sign(ana);
  const first = await signer.verify(token);
  assert.deepEqual(signer.verifications, { checked: 1, remembered: 0 });
  assert.deepEqual(await signer.verify(token), first);
  assert.deepEqual(signer.verifications, { checked: 1, remembered: 1 });
  // A check against a given date is a full one, and not remembered.
  assert.ok(await signer.verify(token, new Date()));
  assert.deepEqual(signer.verifications, { checked: 2, remembered: 1 });
  // Nothing wrong is remembered.
  assert.equal(await signer.verify(`${token}x`), null);
  assert.equal(await signer.verify(`${token}x`), null);
  assert.deepEqual(signer.verifications, { checked: 2, remembered: 1 });
});

Deno.test("a remembered session ends with its token: past its expiry (and the tolerance) it is refused", async () => {
  const { signer, clock } = clocked(SECRET, 60);
  const token = await signer.sign(ana);
  assert.ok(await signer.verify(token));
  clock.now += (60 + SESSION_CLOCK_TOLERANCE_S - 2) * 1000;
  assert.ok(await signer.verify(token), "still within the tolerance");
  clock.now += 3_000;
  assert.equal(await signer.verify(token), null);
});

Deno.test("a token is remembered whole: its signature with other claims, or with more segments, is still refused", async () => {
  const { signer } = clocked();
  const token = await signer.sign(ana);
  await signer.verify(token);
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(
    atob(payload.replaceAll("-", "+").replaceAll("_", "/")),
  );
  const forged = btoa(JSON.stringify({ ...claims, sub: "guest:eve" }))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  assert.equal(await signer.verify(`${header}.${forged}.${signature}`), null);
  assert.equal(await signer.verify(`${token}.${signature}`), null);
  assert.equal(await signer.verify(`e30.${payload}.${signature}`), null);
  assert.deepEqual(signer.verifications, { checked: 1, remembered: 0 });
});

Deno.test("a handover holds no token: nothing in it can be presented as one", async () => {
  const stopping = clocked().signer;
  const token = await stopping.sign(ana);
  await stopping.verify(token);
  const [{ data }] = await stopping.exportRemembered();
  for (const part of token.split(".")) {
    assert.ok(!data.includes(part), "a part of the token is in the handover");
  }
});

Deno.test("handover: another process on the same secret takes the sessions this one verified, and does not check them again", async () => {
  const stopping = clocked().signer;
  const google: ChatUser = {
    id: "google:1",
    name: "Bea",
    kind: "google",
    picture: "https://example.com/bea.png",
  };
  const tokens = [await stopping.sign(ana), await stopping.sign(google)];
  const sessions = await Promise.all(tokens.map((t) => stopping.verify(t)));
  const chunks = await stopping.exportRemembered();
  const starting = clocked().signer;
  assert.equal(await starting.importRemembered(chunks), 2);
  for (const [i, token] of tokens.entries()) {
    assert.deepEqual(await starting.verify(token), sessions[i]);
  }
  assert.deepEqual(starting.verifications, { checked: 0, remembered: 2 });
  // Taken twice, still once each.
  assert.equal(await starting.importRemembered(chunks), 0);
});

Deno.test("handover: another key, changed data, an old handover or expired sessions are not taken", async () => {
  const { signer: stopping, clock } = clocked(SECRET, 60);
  await stopping.verify(await stopping.sign(ana));
  const chunks = await stopping.exportRemembered();
  assert.equal(chunks.length, 1);
  // Another secret (rotated): the MAC does not hold.
  assert.equal(await clocked(OTHER_SECRET).signer.importRemembered(chunks), 0);
  // One character of the data changed.
  const changed = [{
    ...chunks[0],
    data: chunks[0].data.replace("guest:ana", "guest:eve"),
  }];
  assert.equal(await clocked().signer.importRemembered(changed), 0);
  assert.equal(
    await clocked().signer.importRemembered([{ ...chunks[0], mac: "!" }]),
    0,
  );
  // Made longer ago than a restart takes.
  const late = clocked();
  late.clock.now = clock.now + HANDOVER_MAX_AGE_MS;
  assert.equal(await late.signer.importRemembered(chunks), 0);
  // Expired since it was made.
  const after = clocked();
  after.clock.now = clock.now + (60 + SESSION_CLOCK_TOLERANCE_S + 1) * 1000;
  assert.equal(await after.signer.importRemembered(chunks), 0);
  // Expired before the stop: not handed over at all.
  clock.now += (60 + SESSION_CLOCK_TOLERANCE_S + 1) * 1000;
  assert.deepEqual(await stopping.exportRemembered(), []);
});

Deno.test("handover: many sessions go in chunks that each fit a KV value, and all are taken", async () => {
  const stopping = clocked().signer;
  const people = 600;
  for (let i = 0; i < people; i++) {
    await stopping.verify(
      await stopping.sign({
        id: `google:${i}`,
        name: `Person ${i}`.padEnd(32, "."),
        kind: "google",
        picture: `https://example.com/${"p".repeat(200)}/${i}.png`,
      }),
    );
  }
  const chunks = await stopping.exportRemembered();
  assert.ok(chunks.length > 1, `${chunks.length} chunks`);
  for (const chunk of chunks) {
    assert.ok(
      chunk.data.length <= MAX_HANDOVER_CHUNK_CHARS,
      `${chunk.data.length}`,
    );
  }
  assert.equal(await clocked().signer.importRemembered(chunks), people);
});

Deno.test("a session of the previous key (rotation) verifies but is neither remembered nor handed over: retiring the key ends it", async () => {
  const old = clocked(OTHER_SECRET).signer;
  const token = await old.sign(ana);
  const rotating = new SessionSigner(SECRET, {
    previous: OTHER_SECRET,
    ttlSeconds: 600,
  });
  assert.ok(await rotating.verify(token));
  assert.ok(await rotating.verify(token));
  assert.deepEqual(rotating.verifications, { checked: 2, remembered: 0 });
  assert.deepEqual(await rotating.exportRemembered(), []);
});

Deno.test("handover: names past Latin-1 (two bytes a character in KV) still fit a KV value, through a real store", async () => {
  const stopping = clocked().signer;
  const people = 400;
  for (let i = 0; i < people; i++) {
    await stopping.verify(
      await stopping.sign({
        id: `google:${i}`,
        name: `李${"😀".repeat(15)}${i}`,
        kind: "google",
        picture: `https://example.com/${"p".repeat(200)}/${i}.png`,
      }),
    );
  }
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    const chunks = await stopping.exportRemembered();
    await stores.handover.leave(chunks, 60_000);
    const collected = await stores.handover.collect();
    assert.equal(collected.length, chunks.length);
    assert.equal(await clocked().signer.importRemembered(collected), people);
  } finally {
    await stores.close();
  }
});

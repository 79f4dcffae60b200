/**
 * Session tokens: what `SessionSigner.verify` accepts and refuses. Tokens
 * other than the signer's own are minted with jose on the same secret, so
 * each refusal is for the one thing a test changes.
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import {
  MAX_TOKEN_CHARS,
  SESSION_CLOCK_TOLERANCE_S,
  SESSION_ISSUER,
  SessionSigner,
} from "../../lib/auth/session.ts";
import type { ChatUser } from "../../lib/chat/types.ts";

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

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

/** `token` with its payload segment replaced by `payload`, signature kept. */
function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  const body = btoa(JSON.stringify(payload)).replaceAll("+", "-")
    .replaceAll("/", "_").replace(/=+$/, "");
  return `${header}.${body}.${signature}`;
}

Deno.test("a token the signer issued verifies to its user, session id and times", async () => {
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

Deno.test("a token minted outside the signer with our secret and claims verifies (the helper below is sound)", async () => {
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

Deno.test("another algorithm, or none, is refused even with our secret", async () => {
  assert.equal(
    await signer.verify(
      await mint({}, { header: { alg: "HS512", typ: "JWT" } }),
    ),
    null,
  );
  const [, payload] = (await mint()).split(".");
  const none = btoa(JSON.stringify({ alg: "none", typ: "JWT" }))
    .replace(/=+$/, "");
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

Deno.test("expiry and not-before are checked with the clock tolerance", async () => {
  const t = now();
  const tolerance = SESSION_CLOCK_TOLERANCE_S;
  const expired = await mint({ iat: t - 100, exp: t - tolerance - 5 });
  assert.equal(await signer.verify(expired), null);
  const justExpired = await mint({ iat: t - 100, exp: t - 1 });
  assert.ok(await signer.verify(justExpired), "within the tolerance");
  assert.equal(
    await signer.verify(justExpired, new Date((t + tolerance + 2) * 1000)),
    null,
  );
  assert.equal(
    await signer.verify(await mint({ nbf: t + tolerance + 60 })),
    null,
  );
  assert.ok(await signer.verify(await mint({ nbf: t - 1 })));
  assert.equal(await signer.verify(await mint({ exp: String(t + 600) })), null);
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
  assert.equal(await signer.verify(await mint({ sub: 42 })), null);
  assert.equal(await signer.verify(await mint({ name: ["Ana"] })), null);
});

Deno.test("nothing, garbage and over-long tokens are refused without throwing", async () => {
  for (const token of [undefined, null, "", "abc", "a.b.c", "...", "é.é.é"]) {
    assert.equal(await signer.verify(token), null, String(token));
  }
  const long = (await mint()) + "A".repeat(MAX_TOKEN_CHARS);
  assert.equal(await signer.verify(long), null);
});

import assert from "node:assert/strict";
import {
  GoogleAuthError,
  googleUserId,
  GoogleVerifier,
} from "../../lib/auth/google.ts";
import { MAX_NAME_CHARS } from "../../lib/chat/names.ts";
import {
  claims,
  CLIENT_ID,
  hs256WithPublicKey,
  mint,
  newKey,
  startJwks,
  tamper,
  unsigned,
} from "../_helpers/google.ts";

async function refused(
  verifier: GoogleVerifier,
  credential: unknown,
): Promise<string> {
  try {
    await verifier.verify(credential);
  } catch (err) {
    assert.ok(err instanceof GoogleAuthError, `unexpected ${err}`);
    return err.reason;
  }
  throw new Error("the credential was accepted");
}

Deno.test("Google ID tokens: valid accepted; every forgery and mismatch refused with its reason", async () => {
  const key = await newKey("k1");
  const other = await newKey("other");
  const jwks = await startJwks([key]);
  try {
    const verifier = new GoogleVerifier({
      clientIds: [CLIENT_ID],
      jwksUrl: jwks.url,
    });
    const profile = await verifier.verify(await mint(key));
    assert.deepEqual(profile, {
      sub: "109876543210987654321",
      email: "ana@example.com",
      name: "Ana Lima",
      picture: "https://lh3.googleusercontent.com/a/ana",
    });
    // Google uses both issuer spellings.
    await verifier.verify(
      await mint(key, claims({ iss: "accounts.google.com" })),
    );

    const now = Math.floor(Date.now() / 1000);
    const cases: [string, unknown][] = [
      [
        "wrong_audience",
        await mint(
          key,
          claims({ aud: "someone-else.apps.googleusercontent.com" }),
        ),
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
      ["bad_signature", tamper(await mint(key), { sub: "someone-else" })],
      ["email_unverified", await mint(key, claims({ email_verified: false }))],
      ["malformed", "not a jwt"],
      ["malformed", 42],
    ];
    for (const [reason, credential] of cases) {
      assert.equal(
        await refused(verifier, credential),
        reason,
        `expected ${reason}`,
      );
    }
  } finally {
    await jwks.close();
  }
});

Deno.test("GOOGLE_ALLOWED_DOMAINS is enforced on the signed hd claim", async () => {
  const key = await newKey("k1");
  const jwks = await startJwks([key]);
  try {
    const verifier = new GoogleVerifier({
      clientIds: [CLIENT_ID],
      jwksUrl: jwks.url,
      allowedDomains: ["example.com"],
    });
    assert.equal(
      (await verifier.verify(await mint(key, claims({ hd: "example.com" }))))
        .hd,
      "example.com",
    );
    assert.equal(
      await refused(verifier, await mint(key, claims({ hd: "other.com" }))),
      "domain_not_allowed",
    );
    // An @example.com address without hd (a consumer account) is not a Workspace member.
    assert.equal(
      await refused(verifier, await mint(key, claims())),
      "domain_not_allowed",
    );
  } finally {
    await jwks.close();
  }
});

Deno.test("a rotated key (new kid) is picked up from the JWKS", async () => {
  const first = await newKey("2026-a");
  const second = await newKey("2026-b");
  const jwks = await startJwks([first]);
  try {
    const verifier = new GoogleVerifier({
      clientIds: [CLIENT_ID],
      jwksUrl: jwks.url,
      jwksCooldownMs: 0,
    });
    await verifier.verify(await mint(first));
    assert.equal(await refused(verifier, await mint(second)), "bad_signature");
    await jwks.publish([first, second]);
    const profile = await verifier.verify(await mint(second));
    assert.equal(profile.sub, "109876543210987654321");
    assert.ok(jwks.fetches() >= 2);
  } finally {
    await jwks.close();
  }
});

Deno.test("Google profiles get a guest's name normalization, and an over-long picture is dropped", async () => {
  const key = await newKey("k1");
  const jwks = await startJwks([key]);
  try {
    const verifier = new GoogleVerifier({
      clientIds: [CLIENT_ID],
      jwksUrl: jwks.url,
    });
    const named = async (name: unknown, picture?: string) =>
      await verifier.verify(
        await mint(key, claims({ name, ...(picture ? { picture } : {}) })),
      );
    assert.equal((await named("Ana\u202e Lima\u200b\u0007")).name, "Ana Lima");
    const long = await named("Ana " + "x".repeat(100));
    assert.equal(long.name.length, MAX_NAME_CHARS);
    assert.ok(long.name.startsWith("Ana x"));
    assert.equal(
      (await named("\u200b\u202e")).name,
      "ana",
      "falls back to the email's name",
    );
    const huge = `https://lh3.googleusercontent.com/a/${"x".repeat(4_000)}`;
    assert.equal((await named("Ana", huge)).picture, undefined);
    const fine = `https://lh3.googleusercontent.com/a/${"x".repeat(100)}`;
    assert.equal((await named("Ana", fine)).picture, fine);
  } finally {
    await jwks.close();
  }
});

Deno.test("a Google user's public id does not reveal Google's account number", async () => {
  const sub = "109876543210987654321";
  const id = await googleUserId(sub);
  assert.match(id, /^google:[A-Za-z0-9_-]{22}$/);
  assert.ok(!id.includes(sub));
  assert.equal(await googleUserId(sub), id, "stable");
  assert.notEqual(await googleUserId("109876543210987654322"), id);
});

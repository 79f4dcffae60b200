import assert from "node:assert/strict";
import { SignJWT } from "jose";
import {
  SESSION_COOKIE,
  SESSION_ISSUER,
} from "../../../../lib/auth/session.ts";
import { startServer, TEST_SECRET } from "../../../_helpers/server.ts";

/** A session token issued `ageSeconds` ago (past half its life, so it gets renewed). */
async function agedToken(ageSeconds: number, ttlSeconds: number) {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ name: "Ana", kind: "guest" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("guest:aged-ana")
    .setJti(crypto.randomUUID())
    .setIssuer(SESSION_ISSUER)
    .setAudience(SESSION_ISSUER)
    .setIssuedAt(now - ageSeconds)
    .setExpirationTime(now - ageSeconds + ttlSeconds)
    .sign(new TextEncoder().encode(TEST_SECRET));
}

Deno.test("sign-out with a token revokes what it was renewed into, too", async () => {
  const ttl = 3600;
  const server = await startServer({ SESSION_TTL_SECONDS: String(ttl) });
  try {
    const old = `${SESSION_COOKIE}=${await agedToken(ttl * 0.75, ttl)}`;
    const page = await fetch(`${server.origin}/`, { headers: { cookie: old } });
    await page.body?.cancel();
    const renewed = (page.headers.get("set-cookie") ?? "").split(";")[0];
    assert.ok(renewed.startsWith(`${SESSION_COOKIE}=`), "renewed");
    assert.notEqual(renewed, old);
    const me = (cookie: string) =>
      fetch(`${server.origin}/api/session`, { headers: { cookie } });
    assert.equal((await (await me(renewed)).json()).user.id, "guest:aged-ana");

    // Signing out with the old token (another tab that never saw the renewal)…
    const out = await fetch(`${server.origin}/api/session/signout`, {
      method: "POST",
      headers: { cookie: old, origin: server.origin },
    });
    await out.body?.cancel();
    // …ends the renewed one as well.
    for (const cookie of [old, renewed]) {
      const res = await me(cookie);
      await res.body?.cancel();
      assert.equal(res.status, 401);
    }
  } finally {
    await server.close();
  }
});

import assert from "node:assert/strict";
import { SESSION_COOKIE } from "../../lib/auth/session.ts";
import { guestCookie, signInGuest } from "../../support/guest.ts";
import { startServer } from "../_helpers/server.ts";

Deno.test("signInGuest: returns the session cookie, its token and the guest", async () => {
  const server = await startServer();
  try {
    const { cookie, token, user } = await signInGuest(server.origin, "Ana");
    assert.equal(cookie, `${SESSION_COOKIE}=${token}`);
    assert.equal(user.name, "Ana");
    assert.equal(user.kind, "guest");
    const session = await server.services.sessions.verify(token);
    assert.equal(session?.user.id, user.id);
    assert.match(
      await guestCookie(server.origin, "Ben"),
      /^roomcast_session=./,
    );
  } finally {
    await server.close();
  }
});

Deno.test("signInGuest: rejects an answer other than 200, quoting it", async () => {
  const server = await startServer({ ALLOW_GUESTS: "false" });
  try {
    await assert.rejects(
      signInGuest(server.origin, "Ana"),
      /guest sign-in failed: 403 .*guests_disabled/,
    );
  } finally {
    await server.close();
  }
});

import assert from "node:assert/strict";
import { startServer } from "../../../_helpers/server.ts";

Deno.test("GET /api/session names the signed-in user, and is 401 once signed out", async () => {
  const server = await startServer();
  try {
    const { cookie, user } = await server.guest("Ana");
    const me = await fetch(`${server.origin}/api/session`, {
      headers: { cookie },
    });
    assert.equal(me.status, 200);
    assert.equal(me.headers.get("cache-control"), "no-store");
    assert.deepEqual((await me.json()).user, user);
    const out = await fetch(`${server.origin}/api/session/signout`, {
      method: "POST",
      headers: { cookie, origin: server.origin },
    });
    await out.body?.cancel();
    const after = await fetch(`${server.origin}/api/session`, {
      headers: { cookie },
    });
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error, "unauthorized");
    const anonymous = await fetch(`${server.origin}/api/session`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await server.close();
  }
});

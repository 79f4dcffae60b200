import assert from "node:assert/strict";
import { Hono } from "hono";
import { rateLimited } from "../../lib/chat/protocol.ts";
import {
  refusalResponse,
  ROUTE_ERRORS,
  routeError,
  type RouteErrorCode,
} from "../../lib/web/errors.ts";

Deno.test("routeError answers every code with its one status and wording", async () => {
  const app = new Hono();
  app.get(
    "/:code",
    (c) => routeError(c, c.req.param("code") as RouteErrorCode),
  );
  for (const [code, { status, message }] of Object.entries(ROUTE_ERRORS)) {
    const res = await app.request(`/${code}`);
    assert.equal(res.status, status, code);
    assert.deepEqual(await res.json(), { error: code, message });
  }
});

Deno.test("refusalResponse: protocol refusals in the socket's words; rate limits carry Retry-After in whole seconds", async () => {
  const app = new Hono();
  app.get("/slow", (c) => refusalResponse(c, rateLimited(1_200)));
  app.get("/guest", (c) =>
    refusalResponse(c, {
      ok: false,
      code: "sign_in_required",
      message: "Sign in to chat in this room.",
    }));
  app.get("/empty", (c) =>
    refusalResponse(c, {
      ok: false,
      code: "empty_text",
      message: "A message cannot be empty.",
    }));
  const slow = await app.request("/slow");
  assert.equal(slow.status, 429);
  assert.equal(slow.headers.get("retry-after"), "2");
  assert.deepEqual(await slow.json(), {
    error: "rate_limited",
    message: "You are sending too fast.",
    retryAfter: 1_200,
  });
  assert.equal((await app.request("/guest")).status, 403);
  const empty = await app.request("/empty");
  assert.equal(empty.status, 400);
  assert.equal(empty.headers.get("retry-after"), null);
});

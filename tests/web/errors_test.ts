import assert from "node:assert/strict";
import { Hono } from "hono";
import { rateLimited } from "../../lib/chat/protocol.ts";
import {
  ERROR_PAGE_VAR,
  type ErrorPageData,
  refusalResponse,
  ROUTE_ERRORS,
  routeError,
  type RouteErrorCode,
  wantsHtml,
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

Deno.test("routeError: a browser gets the error page when there is one; JSON when it cannot render, or for API paths", async () => {
  const app = new Hono();
  let broken = false;
  app.use("*", async (c, next) => {
    c.set(
      ERROR_PAGE_VAR as never,
      ((_c: unknown, data: ErrorPageData) => {
        if (broken) throw new Error("the page itself failed");
        return new Response(`page ${data.code} ${data.hint?.href ?? ""}`, {
          status: data.status,
          headers: { "content-type": "text/html" },
        });
      }) as never,
    );
    await next();
  });
  app.get(
    "/room",
    (c) => routeError(c, "bad_room", { href: "/chat/x", label: "Go to #x" }),
  );
  app.get("/api/room", (c) => routeError(c, "bad_room"));
  const html = { accept: "text/html,*/*;q=0.8" };
  const page = await app.request("/room", { headers: html });
  assert.equal(page.status, 400);
  assert.equal(await page.text(), "page bad_room /chat/x");
  assert.equal(
    (await app.request("/api/room", { headers: html })).headers.get(
      "content-type",
    ),
    "application/json",
  );
  broken = true;
  const fallback = await app.request("/room", { headers: html });
  assert.equal(fallback.status, 400);
  assert.equal((await fallback.json()).error, "bad_room");
});

Deno.test("wantsHtml: GET or HEAD naming text/html, outside the API, sockets and probes", () => {
  const browser = "text/html,application/xhtml+xml,*/*;q=0.8";
  assert.ok(wantsHtml("GET", "/nope", browser));
  assert.ok(wantsHtml("HEAD", "/chat/Caf%C3%A9", browser));
  assert.ok(!wantsHtml("POST", "/nope", browser));
  assert.ok(!wantsHtml("GET", "/nope", "*/*"));
  assert.ok(!wantsHtml("GET", "/nope", undefined));
  for (
    const path of [
      "/api",
      "/api/rooms",
      "/ws/chat/x",
      "/healthz",
      "/readyz",
      "/metrics",
    ]
  ) {
    assert.ok(!wantsHtml("GET", path, browser), path);
  }
  assert.ok(wantsHtml("GET", "/apis", browser), "only the API itself");
});

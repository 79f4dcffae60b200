/**
 * Route errors by `Accept`: a browser's navigation gets the app's HTML error
 * page (its layout, the status, the error's one wording, a way back to the
 * lobby); API clients and API paths get `{error, message}` JSON. Real server,
 * real HTTP, and the real app for the statuses no route gives on demand.
 */
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../_helpers/server.ts";
import {
  ROUTE_ERRORS,
  routeError,
  type RouteErrorCode,
} from "../../lib/web/errors.ts";
import { createApp } from "../../lib/server.ts";
import { manifest } from "../../manifest.gen.ts";
import { MAX_ROOM_CHARS } from "../../lib/chat/names.ts";

/** What Chromium sends when it navigates. */
const BROWSER_ACCEPT =
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

async function get(
  server: TestServer,
  path: string,
  accept?: string,
): Promise<Response> {
  return await fetch(`${server.origin}${path}`, {
    headers: accept ? { accept } : {},
    redirect: "manual",
  });
}

/** Whether `html` shows `text` (apostrophes may or may not be escaped). */
function hasText(html: string, text: string): boolean {
  return html.includes(text) || html.includes(text.replaceAll("'", "&#39;"));
}

/** Asserts `res` is the HTML error page for `code`, and returns its HTML. */
async function assertErrorPage(
  res: Response,
  code: RouteErrorCode,
): Promise<string> {
  const { status, message } = ROUTE_ERRORS[code];
  assert.equal(res.status, status, code);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.ok(html.startsWith("<!DOCTYPE html>"), code);
  assert.match(html, /data-testid="error-page"/);
  assert.ok(html.includes(`Error ${status}`), `${code}: the status`);
  assert.ok(hasText(html, message), `${code}: its wording`);
  assert.match(html, /<a [^>]*href="\/"[^>]*>Back to the lobby<\/a>/);
  // The app's layout: its navbar and its stylesheet.
  assert.match(html, /<nav/);
  assert.match(html, /\/_build\/app\.[0-9a-f]+\.css/);
  return html;
}

async function assertJson(res: Response, code: RouteErrorCode) {
  const { status, message } = ROUTE_ERRORS[code];
  assert.equal(res.status, status, code);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(await res.json(), { error: code, message });
}

Deno.test("a browser gets HTML error pages: unknown path, /chat/Café (with the name that works), an over-long room name", async () => {
  const server = await startServer();
  try {
    await assertErrorPage(
      await get(server, "/no/such/page", BROWSER_ACCEPT),
      "not_found",
    );
    const cafe = await assertErrorPage(
      await get(server, "/chat/Caf%C3%A9", BROWSER_ACCEPT),
      "bad_room",
    );
    assert.match(cafe, /<a [^>]*href="\/chat\/cafe"[^>]*>Go to #cafe<\/a>/);
    const long = "a".repeat(MAX_ROOM_CHARS + 1);
    const tooLong = await assertErrorPage(
      await get(server, `/chat/${long}`, BROWSER_ACCEPT),
      "bad_room",
    );
    assert.ok(
      tooLong.includes(`href="/chat/${"a".repeat(MAX_ROOM_CHARS)}"`),
      "offers the name cut to the limit",
    );
    // A name with nothing usable left: the lobby only.
    const none = await assertErrorPage(
      await get(server, "/chat/%E6%97%A5%E6%9C%AC", BROWSER_ACCEPT),
      "bad_room",
    );
    assert.doesNotMatch(none, /data-testid="error-hint"/);
  } finally {
    await server.close();
  }
});

Deno.test("API clients get JSON for the same errors; API paths answer JSON even to a browser", async () => {
  const server = await startServer();
  try {
    await assertJson(await get(server, "/no/such/page"), "not_found");
    await assertJson(
      await get(server, "/no/such/page", "application/json"),
      "not_found",
    );
    await assertJson(await get(server, "/chat/Caf%C3%A9", "*/*"), "bad_room");
    await assertJson(
      await get(server, "/api/no-such-thing", BROWSER_ACCEPT),
      "not_found",
    );
    await assertJson(
      await get(server, "/api/rooms/Caf%C3%A9/messages", BROWSER_ACCEPT),
      "bad_room",
    );
    // A state-changing request never gets a page, whatever it accepts.
    const post = await fetch(`${server.origin}/no/such/page`, {
      method: "POST",
      headers: { accept: BROWSER_ACCEPT },
    });
    await assertJson(post, "not_found");
  } finally {
    await server.close();
  }
});

Deno.test("every route error has its page with its status (400, 403, 404, 429, 500), with the CSP of a page", async () => {
  const server = await startServer();
  try {
    const app = createApp(server.services, manifest);
    app.get(
      "/test-error/:code",
      (c) => routeError(c, c.req.param("code") as RouteErrorCode),
    );
    app.get("/test-throw", () => {
      throw new Error("boom");
    });
    const request = (path: string, accept: string) =>
      app.request(path, { headers: { accept } });
    const statuses = new Set<number>();
    for (const code of Object.keys(ROUTE_ERRORS) as RouteErrorCode[]) {
      const page = await request(`/test-error/${code}`, BROWSER_ACCEPT);
      await assertErrorPage(page, code);
      assert.match(
        page.headers.get("content-security-policy") ?? "",
        /script-src 'self' 'nonce-/,
      );
      await assertJson(
        await request(`/test-error/${code}`, "application/json"),
        code,
      );
      statuses.add(ROUTE_ERRORS[code].status);
    }
    for (const status of [400, 403, 404, 429, 500]) {
      assert.ok(statuses.has(status), `a route error answers ${status}`);
    }
    // An exception in a route is the 500 page, or JSON.
    await assertErrorPage(
      await request("/test-throw", BROWSER_ACCEPT),
      "internal",
    );
    await assertJson(await request("/test-throw", "*/*"), "internal");
  } finally {
    await server.close();
  }
});

Deno.test("/chat?room= with a name that does not work goes back to the lobby, which explains and offers the name that does", async () => {
  const server = await startServer();
  try {
    const res = await get(server, "/chat?room=My%20Room!", BROWSER_ACCEPT);
    assert.equal(res.status, 303);
    const back = res.headers.get("location") ?? "";
    await res.body?.cancel();
    assert.equal(back, "/?error=room&room=My+Room%21");
    const lobby = await (await get(server, back, BROWSER_ACCEPT)).text();
    assert.ok(hasText(lobby, ROUTE_ERRORS.bad_room.message));
    assert.match(lobby, /href="\/chat\/my-room"[^>]*>Use #my-room</);
    assert.match(lobby, /aria-describedby="room-help room-feedback"/);
  } finally {
    await server.close();
  }
});

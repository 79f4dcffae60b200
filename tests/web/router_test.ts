import assert from "node:assert/strict";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { h } from "preact";
import { mountManifest, routePath } from "../../lib/web/router.ts";
import type {
  AppProps,
  Manifest,
  PageProps,
  RouteModule,
} from "../../lib/web/types.ts";

Deno.test("routePath: index, params, rest and nesting", () => {
  const cases: [string, string][] = [
    ["index", "/"],
    ["about", "/about"],
    ["chat/index", "/chat"],
    ["chat/[room]", "/chat/:room"],
    ["chat/new", "/chat/new"],
    ["files/[...path]", "/files/:path{.+}"],
    ["api/rooms/[room]/messages", "/api/rooms/:room/messages"],
    ["api/rooms/[room]/index", "/api/rooms/:room"],
    ["[org]/[repo]/settings", "/:org/:repo/settings"],
    ["docs/[...slug]", "/docs/:slug{.+}"],
    ["ws/chat/[room]", "/ws/chat/:room"],
  ];
  for (const [key, path] of cases) assert.equal(routePath(key), path, key);
});

/** A page that shows what it was given. */
function pageModule(
  label: string,
  extra: Partial<RouteModule> = {},
): RouteModule {
  return {
    default: (p: PageProps) =>
      h(
        "article",
        { "data-page": label },
        `${label} params=${JSON.stringify(p.params)} data=${
          JSON.stringify(p.data ?? null)
        } who=${String(p.state.who ?? "")} path=${p.url.pathname}`,
      ),
    ...extra,
  };
}

function marker(name: string): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.append("x-mw", name);
  };
}

function manifest(): Manifest {
  return {
    routes: {
      "_app": {
        default: ({ Component, title, url }: AppProps) =>
          h(
            "html",
            null,
            h("head", null, h("title", null, title)),
            h(
              "body",
              { "data-url": url.pathname },
              h("div", { id: "shell" }, h(Component, null)),
            ),
          ),
      },
      "_middleware": {
        handler: [
          marker("root"),
          (async (c, next) => {
            c.set("who", "root-state");
            await next();
          }) as MiddlewareHandler,
        ],
      },
      "api/_middleware": { handler: marker("api") },
      "api/admin/_middleware": { handler: marker("admin") },
      "index": pageModule("home", { title: "Home" }),
      // Declared before `chat/new` on purpose: mounting must still prefer the static segment.
      "chat/[room]": pageModule("room", {
        title: (p: PageProps) => `Room ${p.params.room}`,
      }),
      "chat/new": pageModule("new-room"),
      "files/[...path]": {
        handler: (c: Context) => c.json({ path: c.req.param("path") }),
      },
      "api/index": { handler: (c: Context) => c.json({ api: true }) },
      "api/ping": {
        handler: {
          GET: (c) => c.json({ pong: true }),
          POST: (c) => c.json({ posted: true }, 201),
        },
      },
      "api/admin/stats": { handler: { GET: (c) => c.json({ stats: 1 }) } },
      "apix": { handler: (c: Context) => c.text("not under /api") },
      "render": pageModule("rendered", {
        handler: {
          GET: (_c, render) =>
            render({ n: 7 }, { status: 201, headers: { "x-extra": "yes" } }),
        },
      }),
      "only-post": { handler: { POST: (c) => c.text("posted") } },
      "_helpers/secret": {
        handler: (c: Context) => c.text("should not be mounted"),
      },
    },
    islands: {},
  };
}

function mounted(): (path: string, init?: RequestInit) => Promise<Response> {
  const app = new Hono();
  mountManifest(app, manifest());
  return (path, init) => Promise.resolve(app.request(path, init));
}

Deno.test("mountManifest: a page-only module answers GET with the page inside _app", async () => {
  const get = mounted();
  const res = await get("/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await res.text();
  assert.ok(html.startsWith("<!DOCTYPE html><html>"), html);
  assert.match(html, /<title>Home<\/title>/);
  assert.match(
    html,
    /<body data-url="\/"><div id="shell"><article data-page="home">home params=\{\} data=null who=root-state path=\/<\/article><\/div><\/body>/,
  );
});

Deno.test("mountManifest: [param] routes get their params, and a title function sees them", async () => {
  const get = mounted();
  const res = await get("/chat/general");
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<title>Room general<\/title>/);
  assert.match(
    html,
    /data-page="room">room params=\{&quot;room&quot;:&quot;general&quot;\}/,
  );
});

Deno.test("mountManifest: a static segment wins over [param]", async () => {
  const get = mounted();
  const html = await (await get("/chat/new")).text();
  assert.match(html, /data-page="new-room"/);
  assert.doesNotMatch(html, /data-page="room"/);
  // Anything else under /chat is still the room page.
  assert.match(await (await get("/chat/news")).text(), /data-page="room"/);
});

Deno.test("mountManifest: [...rest] matches several segments", async () => {
  const get = mounted();
  const res = await get("/files/a/b/c.txt");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { path: "a/b/c.txt" });
  assert.equal((await get("/files/one")).status, 200);
  const bare = await get("/files");
  assert.equal(bare.status, 404);
  await bare.body?.cancel();
});

Deno.test("mountManifest: _middleware applies to its folder and below only", async () => {
  const get = mounted();
  const mw = async (path: string) => {
    const res = await get(path);
    await res.body?.cancel();
    return res.headers.get("x-mw");
  };
  assert.equal(await mw("/"), "root");
  assert.equal(await mw("/chat/new"), "root");
  assert.equal(await mw("/api"), "api, root");
  assert.equal(await mw("/api/ping"), "api, root");
  assert.equal(await mw("/api/admin/stats"), "admin, api, root");
  assert.equal(await mw("/api/admin"), "admin, api, root");
  // Paths in the folder without a route still pass through its middleware.
  assert.equal(await mw("/api/nothing-here"), "api, root");
  // A sibling whose name starts with the folder's is not inside it.
  assert.equal(await mw("/apix"), "root");
  assert.equal(await (await get("/apix")).text(), "not under /api");
});

Deno.test("mountManifest: handlers per method; an unhandled method is refused", async () => {
  const get = mounted();
  const ping = await get("/api/ping");
  assert.deepEqual(await ping.json(), { pong: true });
  const post = await get("/api/ping", { method: "POST" });
  assert.equal(post.status, 201);
  assert.deepEqual(await post.json(), { posted: true });

  for (
    const [path, method] of [
      ["/api/ping", "DELETE"],
      ["/api/ping", "PUT"],
      ["/", "POST"], // a page-only module answers GET only
      ["/chat/general", "DELETE"],
      ["/only-post", "GET"],
      ["/api/admin/stats", "POST"],
    ]
  ) {
    const res = await get(path, { method });
    assert.ok(
      [404, 405].includes(res.status),
      `${method} ${path}: ${res.status}`,
    );
    await res.body?.cancel();
  }
  const ok = await get("/only-post", { method: "POST" });
  assert.equal(await ok.text(), "posted");
});

Deno.test("mountManifest: render passes data, status and headers", async () => {
  const get = mounted();
  const res = await get("/render");
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("x-extra"), "yes");
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(
    await res.text(),
    /rendered params=\{\} data=\{&quot;n&quot;:7\}/,
  );
});

Deno.test("mountManifest: files and folders starting with _ are never routes", async () => {
  const get = mounted();
  for (
    const path of [
      "/_app",
      "/_middleware",
      "/_helpers/secret",
      "/api/_middleware",
    ]
  ) {
    const res = await get(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
});

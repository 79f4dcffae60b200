import assert from "node:assert/strict";
import {
  changesSession,
  isKeptPage,
  OFFLINE_PATH,
  serviceWorkerSource,
  shellUrls,
} from "../../lib/web/service_worker.ts";

Deno.test("shellUrls: every served build file, the static files, the offline page; never the build's bookkeeping", () => {
  assert.deepEqual(
    shellUrls(
      [
        "islands.3f2a.js",
        "assets.json",
        "islands.entry.ts",
        "icons.ab/fonts/x.woff2",
      ],
      ["/static/favicon.svg"],
    ),
    [
      "/_build/icons.ab/fonts/x.woff2",
      "/_build/islands.3f2a.js",
      "/static/favicon.svg",
      OFFLINE_PATH,
    ],
  );
});

Deno.test("isKeptPage: the lobby and rooms; never the API, probes or anything else", () => {
  for (const path of ["/", "/chat/general", "/chat/a_b-9"]) {
    assert.ok(isKeptPage(path), path);
  }
  for (
    const path of [
      "/api/rooms",
      "/api/session",
      "/ws/chat/general",
      "/healthz",
      "/metrics",
      "/chat/General",
      "/chat/a/b",
      "/sw.js",
      OFFLINE_PATH,
    ]
  ) {
    assert.ok(!isKeptPage(path), path);
  }
});

Deno.test("changesSession: sign-in and sign-out requests, not reads", () => {
  assert.ok(changesSession("POST", "/api/session/guest"));
  assert.ok(changesSession("POST", "/api/session/signout"));
  assert.ok(changesSession("POST", "/api/auth/google"));
  assert.ok(!changesSession("GET", "/api/session/"));
  assert.ok(!changesSession("POST", "/api/rooms/x/messages"));
});

Deno.test("serviceWorkerSource is one script: its helpers, its code and its settings, and it compiles", () => {
  const source = serviceWorkerSource({
    version: "abc",
    shell: ["/_build/a.js"],
    offline: OFFLINE_PATH,
  });
  assert.match(source, /"version":"abc"/);
  assert.match(source, /const isKeptPage = /);
  assert.match(source, /const changesSession = /);
  // Compiles as a classic script (a syntax error would throw here); not run.
  new Function(source);
});

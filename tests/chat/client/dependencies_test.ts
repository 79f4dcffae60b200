import assert from "node:assert/strict";
import {
  checkSession,
  resumeUrl,
  roomSocketPath,
  SESSION_PATH,
  socketUrl,
} from "../../../lib/chat/client/dependencies.ts";

Deno.test("socket URLs: the page's host, wss under https, the room encoded", () => {
  const path = roomSocketPath("general");
  assert.equal(path, "/ws/chat/general");
  assert.equal(
    socketUrl(path, { protocol: "https:", host: "chat.example" }),
    "wss://chat.example/ws/chat/general",
  );
  assert.equal(
    socketUrl(path, { protocol: "http:", host: "127.0.0.1:8000" }),
    "ws://127.0.0.1:8000/ws/chat/general",
  );
  assert.equal(roomSocketPath("a b/c"), "/ws/chat/a%20b%2Fc");
  assert.equal(
    socketUrl("ws://127.0.0.1:1/x", { protocol: "https:", host: "h" }),
    "ws://127.0.0.1:1/x",
  );
});

Deno.test("resumeUrl: ?after= the seq held, added to a path or a URL (with & after a query); null adds nothing", () => {
  assert.equal(
    resumeUrl(roomSocketPath("general"), 42),
    "/ws/chat/general?after=42",
  );
  assert.equal(resumeUrl("/ws/chat/general", 0), "/ws/chat/general?after=0");
  assert.equal(resumeUrl("/ws/chat/general", null), "/ws/chat/general");
  assert.equal(
    resumeUrl("ws://127.0.0.1:1/ws/chat/a?x=1", 7),
    "ws://127.0.0.1:1/ws/chat/a?x=1&after=7",
  );
  assert.equal(
    socketUrl(resumeUrl("/ws/chat/a", 3), { protocol: "https:", host: "h" }),
    "wss://h/ws/chat/a?after=3",
  );
});

Deno.test("session check: 200 names the user, 401 is signed out, anything else is unknown", async () => {
  const user = { id: "guest:ana", name: "Ana", kind: "guest" };
  const asked: [string, RequestInit][] = [];
  const answer =
    (res: Response | Error) => (url: string, init: RequestInit) => {
      asked.push([url, init]);
      return res instanceof Error ? Promise.reject(res) : Promise.resolve(res);
    };
  assert.deepEqual(
    await checkSession(answer(Response.json({ user }))),
    { status: "signed-in", user },
  );
  assert.equal(asked[0][0], SESSION_PATH);
  assert.equal(asked[0][1].cache, "no-store");
  assert.deepEqual(
    await checkSession(
      answer(Response.json({ error: "unauthorized" }, { status: 401 })),
    ),
    { status: "signed-out" },
  );
  for (
    const res of [
      new Response("busy", { status: 503 }),
      Response.json({ user: { id: 1 } }),
      new Response("not json"),
      new TypeError("Failed to fetch"),
    ]
  ) {
    assert.deepEqual(await checkSession(answer(res)), { status: "unknown" });
  }
});

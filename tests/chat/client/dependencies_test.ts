import assert from "node:assert/strict";
import {
  roomSocketPath,
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

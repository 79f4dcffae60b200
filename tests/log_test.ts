import assert from "node:assert/strict";
import { resolveLogFormat, textLine } from "../lib/log.ts";

Deno.test("resolveLogFormat: auto is text on a terminal and JSON elsewhere; an explicit format wins", () => {
  assert.equal(resolveLogFormat("auto", true), "text");
  assert.equal(resolveLogFormat("auto", false), "json");
  assert.equal(resolveLogFormat("json", true), "json");
  assert.equal(resolveLogFormat("text", false), "text");
});

Deno.test("textLine: time, level, event, then key=value, quoted when not one word; undefined fields left out", () => {
  const at = new Date("2026-01-02T10:11:12.345Z");
  assert.equal(
    textLine(at, "warn", "ws.closed", {
      code: 1006,
      ok: false,
      room: "general",
      missing: undefined,
      reason: 'went "away" now',
      none: null,
    }),
    '10:11:12.345 WARN  ws.closed code=1006 ok=false room=general reason="went \\"away\\" now" none=null',
  );
  assert.equal(
    textLine(at, "info", "server.stopping"),
    "10:11:12.345 INFO  server.stopping",
  );
});

import assert from "node:assert/strict";
import {
  MAX_ROOM_CHARS,
  normalizeRoomName,
  suggestRoomName,
} from "../../lib/chat/names.ts";

Deno.test("suggestRoomName offers the closest valid room name, or null", () => {
  const cases: [string, string | null][] = [
    ["My Room!", "my-room"],
    ["Café", "cafe"],
    ["  Team / Ops  ", "team-ops"],
    ["a--b", "a-b"],
    ["snake_case", "snake_case"],
    ["!!!", null],
    ["", null],
    ["日本語", null],
  ];
  for (const [input, expected] of cases) {
    assert.equal(suggestRoomName(input), expected, input);
  }
});

Deno.test("suggestRoomName: always valid, never longer than the limit, no dash at the end", () => {
  const long = "word ".repeat(40);
  const room = suggestRoomName(long);
  assert.ok(room !== null);
  assert.ok(room.length <= MAX_ROOM_CHARS);
  assert.ok(!room.endsWith("-"));
  assert.equal(normalizeRoomName(room), room);
});

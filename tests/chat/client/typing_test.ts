import assert from "node:assert/strict";
import { TypingIndicators } from "../../../lib/chat/client/typing.ts";

Deno.test("typing indicators: shown in order of starting, until each runs out", () => {
  const t = new TypingIndicators();
  assert.deepEqual(t.names, []);
  assert.equal(t.nextExpiry, null);
  t.show("ana", "Ana", 100);
  t.show("ben", "Ben", 50);
  assert.deepEqual(t.names, ["Ana", "Ben"]);
  assert.equal(t.nextExpiry, 50);

  // A refresh keeps Ana's place and moves her expiry.
  t.show("ana", "Ana", 200);
  assert.deepEqual(t.names, ["Ana", "Ben"]);
  assert.equal(t.expire(49), false);
  assert.equal(t.expire(50), true);
  assert.deepEqual(t.names, ["Ana"]);
  assert.equal(t.nextExpiry, 200);
  assert.equal(t.expire(150), false, "refreshed, not expired");
});

Deno.test("typing indicators: a message clears its author at once", () => {
  const t = new TypingIndicators();
  t.show("ana", "Ana", 100);
  const names = t.names;
  assert.equal(t.clear("ben"), false);
  assert.equal(t.names, names, "unchanged: the same array");
  assert.equal(t.clear("ana"), true);
  assert.deepEqual(t.names, []);
  assert.equal(t.nextExpiry, null);
});

import assert from "node:assert/strict";
import {
  applyPresenceDiff,
  emptyPresence,
  presenceOf,
  presentUsers,
  typingLabel,
} from "../../lib/chat/presence.ts";
import type { ChatUser } from "../../lib/chat/types.ts";

const ana: ChatUser = { id: "guest:ana", name: "Ana", kind: "guest" };
const ben: ChatUser = { id: "guest:ben", name: "Ben", kind: "guest" };

Deno.test("presence: a user with two connections is one entry until the last one leaves", () => {
  let s = emptyPresence();
  s = applyPresenceDiff(s, { joins: presenceOf(ana, "c1", 1) });
  s = applyPresenceDiff(s, { joins: presenceOf(ana, "c2", 2) });
  assert.deepEqual(presentUsers(s).map((u) => u.name), ["Ana"]);
  assert.equal(s[ana.id].metas.length, 2);
  s = applyPresenceDiff(s, { leaves: presenceOf(ana, "c1", 1) });
  assert.deepEqual(presentUsers(s).map((u) => u.name), ["Ana"]);
  s = applyPresenceDiff(s, { leaves: presenceOf(ana, "c2", 2) });
  assert.deepEqual(presentUsers(s), []);
});

Deno.test("presence: diffs are idempotent (the same diff may come from several instances)", () => {
  let s = emptyPresence();
  const join = { joins: presenceOf(ben, "b1", 5) };
  s = applyPresenceDiff(applyPresenceDiff(s, join), join);
  assert.equal(s[ben.id].metas.length, 1);
  const leave = { leaves: presenceOf(ben, "b1", 5) };
  s = applyPresenceDiff(applyPresenceDiff(s, leave), leave);
  assert.deepEqual(Object.keys(s), []);
  // A leave for someone never seen changes nothing.
  assert.deepEqual(
    applyPresenceDiff(s, { leaves: presenceOf(ana, "x", 1) }),
    emptyPresence(),
  );
});

Deno.test("presence: user ids like __proto__ are plain keys", () => {
  const odd: ChatUser = { id: "__proto__", name: "Odd", kind: "guest" };
  const s = applyPresenceDiff(emptyPresence(), {
    joins: presenceOf(odd, "o1", 1),
  });
  assert.deepEqual(presentUsers(s).map((u) => u.name), ["Odd"]);
  assert.equal(({} as Record<string, unknown>).name, undefined);
});

Deno.test("presence: listed by arrival", () => {
  let s = emptyPresence();
  s = applyPresenceDiff(s, { joins: presenceOf(ben, "b1", 10) });
  s = applyPresenceDiff(s, { joins: presenceOf(ana, "a1", 5) });
  assert.deepEqual(presentUsers(s).map((u) => u.name), ["Ana", "Ben"]);
});

Deno.test("typingLabel", () => {
  assert.equal(typingLabel([]), "");
  assert.equal(typingLabel(["Ana"]), "Ana is typing…");
  assert.equal(typingLabel(["Ana", "Ben"]), "Ana and Ben are typing…");
  assert.equal(
    typingLabel(["Ana", "Ben", "Cy"]),
    "Ana and 2 others are typing…",
  );
});

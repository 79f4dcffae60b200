import assert from "node:assert/strict";
import {
  activityLine,
  applyPresenceDiff,
  emptyPresence,
  nextPresence,
  presenceChanges,
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

const cy: ChatUser = { id: "guest:cy", name: "Cy", kind: "guest" };

Deno.test("presenceChanges: who joined and who left, never yourself", () => {
  let before = emptyPresence();
  before = applyPresenceDiff(before, { joins: presenceOf(ana, "a1", 1) });
  before = applyPresenceDiff(before, { joins: presenceOf(ben, "b1", 2) });
  const after = nextPresence(before, {
    joins: { ...presenceOf(cy, "c1", 3), ...presenceOf(ana, "a2", 4) },
    leaves: presenceOf(ben, "b1", 2),
  });
  assert.deepEqual(presenceChanges(before, after, "nobody"), {
    joined: [cy],
    left: [ben],
  });
  // Seen from Cy's own tab, Cy's arrival is not news.
  assert.deepEqual(presenceChanges(before, after, cy.id), {
    joined: [],
    left: [ben],
  });
  // Ana opening a second tab is not a join; closing one of two is not a leave.
  const oneTabLess = nextPresence(after, { leaves: presenceOf(ana, "a1", 1) });
  assert.deepEqual(presenceChanges(after, oneTabLess, "nobody"), {
    joined: [],
    left: [],
  });
});

Deno.test("presenceChanges: ids like __proto__ join and leave like any other", () => {
  const odd: ChatUser = { id: "__proto__", name: "Odd", kind: "guest" };
  const empty = emptyPresence();
  const withOdd = applyPresenceDiff(empty, { joins: presenceOf(odd, "o", 1) });
  assert.deepEqual(presenceChanges(empty, withOdd, ana.id).joined, [odd]);
  assert.deepEqual(presenceChanges(withOdd, empty, ana.id).left, [odd]);
});

Deno.test("activityLine: names up to two, then a count; joins before leaves", () => {
  const users = (n: number): ChatUser[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `u${i}`,
      name: `User ${i}`,
      kind: "guest",
    }));
  assert.equal(activityLine({ joined: [], left: [] }), null);
  assert.equal(activityLine({ joined: [ana], left: [] }), "Ana joined");
  assert.equal(
    activityLine({ joined: [], left: [ana, ben] }),
    "Ana and Ben left",
  );
  assert.equal(activityLine({ joined: users(5), left: [] }), "5 people joined");
  assert.equal(
    activityLine({ joined: [ana, ben, cy], left: [ben] }),
    "3 people joined · Ben left",
  );
});

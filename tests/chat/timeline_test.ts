import assert from "node:assert/strict";
import { Timeline } from "../../lib/chat/timeline.ts";
import type { ChatMessage, RoomEvent } from "../../lib/chat/types.ts";

function m(seq: number, text = `message ${seq}`): ChatMessage {
  return {
    id: `id-${seq}`,
    seq,
    room: "room",
    user: { id: "u1", name: "Ana", kind: "guest" },
    text,
    ts: 1_700_000_000_000 + seq,
    clientId: `c-${seq}`,
  };
}

/** Messages `from..to` inclusive. */
function range(from: number, to: number): ChatMessage[] {
  return Array.from({ length: to - from + 1 }, (_, i) => m(from + i));
}

const seqs = (t: Timeline) => t.messages.map((x) => x.seq);

function state(t: Timeline) {
  return { contiguous: t.contiguous, highest: t.highest, hasGap: t.hasGap };
}

Deno.test("timeline: a new timeline is empty and has no gap", () => {
  const t = new Timeline();
  assert.deepEqual(state(t), { contiguous: 0, highest: 0, hasGap: false });
  assert.deepEqual(seqs(t), []);
  assert.equal(t.oldest, 0);
});

Deno.test("timeline: started by its first welcome (a point to resume from), not before", () => {
  const t = new Timeline();
  assert.equal(t.started, false);
  t.add([m(1)]);
  assert.equal(t.started, false, "messages alone do not start it");
  t.welcome([], 0);
  assert.equal(t.started, true);
  t.welcome(range(1, 3), 3);
  assert.equal(t.started, true);
});

Deno.test("timeline: welcome to an empty room, then live messages", () => {
  const t = new Timeline();
  t.welcome([], 0);
  assert.deepEqual(state(t), { contiguous: 0, highest: 0, hasGap: false });
  assert.equal(t.add([m(1)]), true);
  assert.deepEqual(state(t), { contiguous: 1, highest: 1, hasGap: false });
  t.add([m(2)]);
  assert.deepEqual(seqs(t), [1, 2]);
  assert.equal(t.oldest, 1);
});

Deno.test("timeline: the first welcome owes nothing older than its history", () => {
  const t = new Timeline();
  t.welcome(range(51, 100), 100);
  assert.deepEqual(state(t), { contiguous: 100, highest: 100, hasGap: false });
  assert.equal(t.oldest, 51);
  assert.equal(t.messages.length, 50);

  // A room whose history was all removed by retention, but whose seq moved on.
  const u = new Timeline();
  u.welcome([], 40);
  assert.deepEqual(state(u), { contiguous: 40, highest: 40, hasGap: false });
  u.add([m(41)]);
  assert.deepEqual(state(u), { contiguous: 41, highest: 41, hasGap: false });
});

Deno.test("timeline: duplicates are ignored, within a batch and across calls", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  const before = t.messages;
  assert.equal(t.add([m(2), m(3)]), false);
  assert.equal(t.messages, before, "unchanged array when nothing is new");
  assert.equal(t.add([m(4), m(4, "resent copy"), m(4)]), true);
  assert.deepEqual(seqs(t), [1, 2, 3, 4]);
  // The first copy of a seq wins; a resend never replaces it.
  assert.equal(t.messages[3].text, "message 4");
  // Re-welcoming with overlapping history adds nothing twice.
  t.welcome(range(1, 4), 4);
  assert.deepEqual(seqs(t), [1, 2, 3, 4]);
});

Deno.test("timeline: messages are kept in seq order whatever the arrival order", () => {
  const t = new Timeline();
  t.welcome([], 0);
  t.add([m(3), m(1)]);
  t.add([m(5)]);
  t.add([m(2), m(4)]);
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5]);
  // Older history (scrolling up) is merged at the front.
  const u = new Timeline();
  u.welcome(range(10, 12), 12);
  u.add(range(7, 9).reverse());
  assert.deepEqual(seqs(u), [7, 8, 9, 10, 11, 12]);
  assert.equal(u.oldest, 7);
  assert.deepEqual(state(u), { contiguous: 12, highest: 12, hasGap: false });
});

Deno.test("timeline: the messages array is replaced, never mutated", () => {
  const t = new Timeline();
  t.welcome(range(1, 2), 2);
  const first = t.messages;
  t.add([m(3)]);
  assert.notEqual(t.messages, first);
  assert.deepEqual(first.map((x) => x.seq), [1, 2]);
});

Deno.test("timeline: a skipped seq is a gap until it is filled", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  t.add([m(5)]);
  assert.deepEqual(state(t), { contiguous: 3, highest: 5, hasGap: true });
  t.add([m(7)]);
  assert.deepEqual(state(t), { contiguous: 3, highest: 7, hasGap: true });
  t.add([m(4)]);
  assert.deepEqual(state(t), { contiguous: 5, highest: 7, hasGap: true });
  t.add([m(6)]);
  assert.deepEqual(state(t), { contiguous: 7, highest: 7, hasGap: false });
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("timeline: a welcome announcing a higher lastSeq than its history is a gap", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  // Re-connect: the room moved on to 6 but the welcome's history stops at 3.
  t.welcome(range(1, 3), 6);
  assert.deepEqual(state(t), { contiguous: 3, highest: 6, hasGap: true });
});

Deno.test("timeline: on re-connect the messages since `contiguous` are owed", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  // Offline while 4..60 were written; the welcome carries the newest 50.
  t.welcome(range(11, 60), 60);
  assert.deepEqual(state(t), { contiguous: 3, highest: 60, hasGap: true });
  // The resume answer (after 3) fills the gap.
  t.addNewer(range(4, 10), false);
  assert.deepEqual(state(t), { contiguous: 60, highest: 60, hasGap: false });
  assert.deepEqual(seqs(t), range(1, 60).map((x) => x.seq));
});

Deno.test("timeline: re-connect after welcoming an empty room still owes what was written meanwhile", () => {
  const t = new Timeline();
  // The page was rendered for an empty room.
  t.welcome([], 0);
  // Offline while 1..60 were written; the welcome carries the newest 50.
  t.welcome(range(11, 60), 60);
  assert.deepEqual(state(t), { contiguous: 0, highest: 60, hasGap: true });
  t.addNewer(range(1, 10), false);
  assert.deepEqual(state(t), { contiguous: 60, highest: 60, hasGap: false });
  assert.equal(t.messages.length, 60);
});

Deno.test("timeline: resume pages with hasMore advance step by step", () => {
  const t = new Timeline();
  t.welcome(range(1, 2), 2);
  t.welcome([], 9);
  assert.deepEqual(state(t), { contiguous: 2, highest: 9, hasGap: true });
  t.addNewer(range(3, 5), true);
  assert.deepEqual(state(t), { contiguous: 5, highest: 9, hasGap: true });
  t.addNewer(range(6, 9), false);
  assert.deepEqual(state(t), { contiguous: 9, highest: 9, hasGap: false });
});

Deno.test("timeline: addNewer skips messages lost to retention instead of looping", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  t.welcome(range(20, 30), 30);
  assert.deepEqual(state(t), { contiguous: 3, highest: 30, hasGap: true });
  // The server now keeps only 15..30: 4..14 will never come.
  t.addNewer(range(15, 30), false);
  assert.deepEqual(state(t), { contiguous: 30, highest: 30, hasGap: false });
  assert.deepEqual(seqs(t), [1, 2, 3, ...range(15, 30).map((x) => x.seq)]);
});

Deno.test("timeline: an empty, final resume answer closes the gap", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  t.add([m(8)]);
  assert.equal(t.hasGap, true);
  // Everything after 3 the server still had is gone (4..7 expired, 8 known).
  t.addNewer([], false);
  assert.deepEqual(state(t), { contiguous: 8, highest: 8, hasGap: false });
});

Deno.test("timeline: an empty resume answer with more to come leaves the gap open", () => {
  const t = new Timeline();
  t.welcome(range(1, 3), 3);
  t.add([m(8)]);
  t.addNewer([], true);
  assert.deepEqual(state(t), { contiguous: 3, highest: 8, hasGap: true });
});

Deno.test("timeline: a resume answer overlapping what is known adds only the new", () => {
  const t = new Timeline();
  t.welcome(range(1, 5), 5);
  t.add([m(9)]);
  t.addNewer(range(4, 9), false);
  assert.deepEqual(seqs(t), range(1, 9).map((x) => x.seq));
  assert.deepEqual(state(t), { contiguous: 9, highest: 9, hasGap: false });
});

function edit(seq: number, target: number, text: string): RoomEvent {
  return {
    kind: "edit",
    seq,
    target,
    text,
    room: "room",
    user: { id: "u1", name: "Ana", kind: "guest" },
    ts: 1_700_000_000_000 + seq,
    clientId: `e-${seq}`,
  };
}

Deno.test("timeline: events fold into their target in seq order; one past a gap waits for it", () => {
  const t = new Timeline();
  t.welcome(range(1, 2), 2);
  // Seq 3 is missed; 4 arrives live and waits.
  assert.equal(t.apply([edit(4, 1, "second edit")]), true);
  assert.equal(t.messages[0].text, "message 1");
  assert.deepEqual(state(t), { contiguous: 2, highest: 4, hasGap: true });
  t.addNewer([], false, [edit(3, 1, "first edit"), edit(4, 1, "second edit")]);
  assert.equal(t.messages[0].text, "second edit");
  assert.deepEqual(state(t), { contiguous: 4, highest: 4, hasGap: false });
  // Applying it again changes nothing.
  const before = t.messages;
  assert.equal(t.apply([edit(4, 1, "second edit")]), false);
  assert.equal(t.messages, before);
});

Deno.test("timeline: a copy folded further replaces ours; the events it already has are skipped", () => {
  const t = new Timeline();
  t.welcome(range(1, 2), 2);
  const folded = { ...m(1), text: "folded", edited: 1, rev: 5 };
  t.welcome([folded, m(2)], 5);
  assert.equal(t.messages[0].text, "folded");
  t.addNewer([], false, [
    edit(3, 1, "older edit"),
    edit(4, 2, "two"),
    edit(5, 1, "folded"),
  ]);
  assert.equal(t.messages[0].text, "folded", "seq 3 is already in rev 5");
  assert.equal(t.messages[1].text, "two");
  assert.equal(t.contiguous, 5);
});

import assert from "node:assert/strict";
import {
  asLogHead,
  assembleEvents,
  batchSize,
  eventRange,
  headKey,
  MAX_BATCH_CHARS,
  MAX_BATCH_GROUPS,
  MAX_BATCH_PARTS,
  partKey,
  type ReadPart,
  splitFrame,
} from "../../lib/chat/kv_events.ts";

/** One-part event `seq` from instance `from`. */
const one = (seq: number, from = "a"): ReadPart => ({
  seq,
  part: 0,
  value: { from, frame: `f${seq}`, parts: 1 },
});

/** Part `part` of a `parts`-part event `seq`. */
const piece = (seq: number, part: number, parts: number): ReadPart => ({
  seq,
  part,
  value: { from: "a", frame: `${seq}.${part}`, parts },
});

Deno.test("splitFrame: short frames stay whole; long ones split at the part size", () => {
  assert.deepEqual(splitFrame("abc", 4), ["abc"]);
  assert.deepEqual(splitFrame("abcd", 4), ["abcd"]);
  assert.deepEqual(splitFrame("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  const long = "x".repeat(40_001);
  const parts = splitFrame(long);
  assert.equal(parts.join(""), long);
  assert.ok(parts.every((p) => p.length <= 16_000));
});

Deno.test("splitFrame: never cuts a surrogate pair", () => {
  // "ab😀cd": the emoji is two UTF-16 units at indices 2 and 3.
  const parts = splitFrame("ab😀cd", 3);
  assert.deepEqual(parts, ["ab", "😀c", "d"]);
  for (const p of parts) assert.ok(p.isWellFormed());
});

Deno.test("batchSize: at most 10 groups, 256 parts with heads, and the char budget", () => {
  const send = (group: string, parts = 1, chars = 10) => ({
    group,
    parts: Array.from({ length: parts }, () => "x".repeat(chars)),
  });
  assert.equal(batchSize([]), 1);
  assert.equal(batchSize([send("a"), send("a"), send("b")]), 3);
  const groups = Array.from({ length: 12 }, (_, i) => send(`g${i}`));
  assert.equal(batchSize(groups), MAX_BATCH_GROUPS);
  // One group: parts plus its head within the limit.
  const many = Array.from({ length: 300 }, () => send("a"));
  assert.equal(batchSize(many), MAX_BATCH_PARTS - 1);
  const big = Array.from({ length: 5 }, () => send("a", 16, 16_000));
  assert.equal(batchSize(big), Math.floor(MAX_BATCH_CHARS / (16 * 16_000)));
  // A send bigger than any budget still goes, alone.
  assert.equal(batchSize([send("a", 1, MAX_BATCH_CHARS + 1), send("a")]), 1);
});

Deno.test("keys: an event range covers exactly the seqs after `after` up to `upTo`", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (const seq of [3, 4, 5, 9, 10]) {
      for (const part of [0, 1]) {
        await kv.set(partKey("ns", "room", seq, part), 1);
      }
    }
    await kv.set(partKey("ns", "room2", 5, 0), 1);
    await kv.set(headKey("ns", "room"), 1);
    const found: string[] = [];
    for await (const e of kv.list(eventRange("ns", "room", 4, 9))) {
      found.push(`${String(e.key.at(-2))}.${String(e.key.at(-1))}`);
    }
    assert.deepEqual(found, ["5.0", "5.1", "9.0", "9.1"]);
  } finally {
    kv.close();
  }
});

Deno.test("asLogHead: accepts heads only", () => {
  assert.deepEqual(asLogHead({ seq: 3, epoch: "e" }), { seq: 3, epoch: "e" });
  assert.equal(asLogHead(null), null);
  assert.equal(asLogHead({ seq: -1, epoch: "e" }), null);
  assert.equal(asLogHead({ seq: 1.5, epoch: "e" }), null);
  assert.equal(asLogHead({ seq: 1 }), null);
  assert.equal(asLogHead("x"), null);
});

Deno.test("assembleEvents: whole events in order, nothing missing", () => {
  const read = assembleEvents([one(3), one(4), one(5)], 2, 5, true);
  assert.deepEqual(read.events.map((e) => e.frame), ["f3", "f4", "f5"]);
  assert.equal(read.last, 5);
  assert.equal(read.missing, 0);
});

Deno.test("assembleEvents: seqs already delivered or beyond the head are skipped", () => {
  const read = assembleEvents([one(2), one(3), one(4)], 2, 3, true);
  assert.deepEqual(read.events.map((e) => e.seq), [3]);
  assert.equal(read.last, 3);
});

Deno.test("assembleEvents: gaps inside and after the read are counted as missing", () => {
  const read = assembleEvents([one(2), one(5)], 0, 7, true);
  assert.deepEqual(read.events.map((e) => e.seq), [2, 5]);
  // 1, 3, 4 before or between; 6, 7 after the last one found.
  assert.equal(read.missing, 5);
  assert.equal(read.last, 7);
});

Deno.test("assembleEvents: an empty complete read means everything expired", () => {
  assert.deepEqual(assembleEvents([], 3, 6, true), {
    events: [],
    last: 6,
    missing: 3,
  });
});

Deno.test("assembleEvents: a read cut short leaves the cut event and what follows for later", () => {
  const parts = [one(1), piece(2, 0, 3), piece(2, 1, 3)];
  const read = assembleEvents(parts, 0, 9, false);
  assert.deepEqual(read.events.map((e) => e.seq), [1]);
  assert.equal(read.last, 1);
  assert.equal(read.missing, 0);
});

Deno.test("assembleEvents: parts join in order; a partly expired event is missing", () => {
  const parts = [
    piece(1, 0, 3),
    piece(1, 1, 3),
    piece(1, 2, 3),
    piece(2, 0, 2),
    one(3),
  ];
  const read = assembleEvents(parts, 0, 3, true);
  assert.deepEqual(read.events.map((e) => e.frame), ["1.01.11.2", "f3"]);
  assert.equal(read.missing, 1);
  assert.equal(read.last, 3);
});

Deno.test("assembleEvents: leftover parts of an older, longer event are ignored", () => {
  // seq 1 now has one part; parts 1 and 2 are from a recreated log's old seq 1.
  const parts = [one(1), piece(1, 1, 3), piece(1, 2, 3)];
  const read = assembleEvents(parts, 0, 1, true);
  assert.deepEqual(read.events.map((e) => e.frame), ["f1"]);
  assert.equal(read.missing, 0);
});

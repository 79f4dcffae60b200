import assert from "node:assert/strict";
import { seenSeq } from "../../components/read_marker.ts";

Deno.test("seenSeq: the newest seq the messages account for, events folded in included", () => {
  assert.equal(seenSeq([]), 0);
  assert.equal(seenSeq([{ seq: 3 }, { seq: 4 }]), 4);
  // A reaction (seq 6) folded into message 4 after message 5 arrived.
  assert.equal(seenSeq([{ seq: 4, rev: 6 }, { seq: 5 }]), 6);
});

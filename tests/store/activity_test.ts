/**
 * The rooms-by-activity index's keys (the listing and the index kept by
 * appends are in the MessageStore contract, `messages_test.ts`).
 */
import assert from "node:assert/strict";
import {
  ACTIVITY_BUCKET_MS,
  ACTIVITY_PREFIX,
  activityKey,
  activityMoves,
} from "../../lib/store/activity.ts";

Deno.test("activityKey: the room under the second of its last message", () => {
  assert.equal(ACTIVITY_BUCKET_MS, 1_000);
  assert.deepEqual(activityKey(12_345, "general"), [
    ACTIVITY_PREFIX,
    12_000,
    "general",
  ]);
  assert.deepEqual(activityKey(12_000, "a"), [ACTIVITY_PREFIX, 12_000, "a"]);
});

Deno.test("activityMoves: a new room, or a message in another second, moves the key; one in the same second does not", () => {
  assert.equal(activityMoves(null, 5), true);
  assert.equal(activityMoves(12_000, 12_999), false);
  assert.equal(activityMoves(12_999, 13_000), true);
  assert.equal(activityMoves(12_500, 40_000), true);
});

/**
 * Retention's pure decisions: which of a room's oldest excess messages go,
 * and when the next sweep runs. (The sweep itself is in the MessageStore
 * contract, `messages_test.ts`.)
 */
import assert from "node:assert/strict";
import {
  nextPruneDelay,
  prunableCount,
  PRUNE_BUSY_MS,
  PRUNE_MAX_DELAY_MS,
} from "../../lib/store/retention.ts";

Deno.test("prunableCount: the leading messages at or before the cutoff, stopping at the first younger one", () => {
  assert.equal(prunableCount([], 10), 0);
  assert.equal(prunableCount([{ ts: 1 }, { ts: 10 }], 10), 2);
  assert.equal(prunableCount([{ ts: 1 }, { ts: 11 }, { ts: 12 }], 10), 1);
  assert.equal(prunableCount([{ ts: 11 }, { ts: 1 }], 10), 0);
});

Deno.test("nextPruneDelay: soon for work that is due, when the oldest kept message ages otherwise, within bounds", () => {
  const now = 1_000_000;
  assert.equal(nextPruneDelay([], now), null);
  assert.equal(nextPruneDelay([0], now), PRUNE_BUSY_MS);
  assert.equal(nextPruneDelay([now + 5 * 60_000, 0], now), PRUNE_BUSY_MS);
  assert.equal(nextPruneDelay([now + 5 * 60_000], now), 5 * 60_000);
  assert.equal(
    nextPruneDelay([now + 7 * 24 * 3_600_000], now),
    PRUNE_MAX_DELAY_MS,
  );
});

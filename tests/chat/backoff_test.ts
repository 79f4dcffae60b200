import assert from "node:assert/strict";
import {
  backoffDelay,
  RECONNECT_BASE_MS,
  RECONNECT_MAX_MS,
  reconnectDelay,
  restartDelay,
} from "../../lib/chat/backoff.ts";

/** Just under 1: `random` is in [0, 1). */
const ALMOST_ONE = 1 - Number.EPSILON;

Deno.test("reconnectDelay: the first retry waits between half and all of the base delay", () => {
  assert.equal(reconnectDelay(0, 0), RECONNECT_BASE_MS / 2);
  assert.equal(reconnectDelay(0, 0.5), 375);
  assert.equal(reconnectDelay(0, ALMOST_ONE), RECONNECT_BASE_MS);
});

Deno.test("reconnectDelay: the ceiling doubles per attempt", () => {
  for (let attempt = 0; attempt < 5; attempt++) {
    const ceiling = RECONNECT_BASE_MS * 2 ** attempt;
    assert.ok(ceiling <= RECONNECT_MAX_MS);
    assert.equal(reconnectDelay(attempt, 0), ceiling / 2, `attempt ${attempt}`);
    assert.equal(
      reconnectDelay(attempt, ALMOST_ONE),
      ceiling,
      `attempt ${attempt}`,
    );
  }
});

Deno.test("reconnectDelay: capped at RECONNECT_MAX_MS, however many attempts", () => {
  for (
    const attempt of [5, 6, 10, 16, 17, 100, 10_000, Number.MAX_SAFE_INTEGER]
  ) {
    const low = reconnectDelay(attempt, 0);
    const high = reconnectDelay(attempt, ALMOST_ONE);
    assert.equal(low, RECONNECT_MAX_MS / 2, `attempt ${attempt}`);
    assert.equal(high, RECONNECT_MAX_MS, `attempt ${attempt}`);
    assert.ok(Number.isFinite(high));
  }
});

Deno.test("reconnectDelay: never instant, an integer, and non-decreasing in attempt for a fixed random", () => {
  for (const random of [0, 0.1, 0.37, 0.5, 0.9, ALMOST_ONE]) {
    let previous = 0;
    for (let attempt = 0; attempt < 30; attempt++) {
      const delay = reconnectDelay(attempt, random);
      assert.ok(
        delay >= RECONNECT_BASE_MS / 2,
        `${attempt}/${random}: ${delay}`,
      );
      assert.ok(delay <= RECONNECT_MAX_MS);
      assert.ok(Number.isInteger(delay));
      assert.ok(
        delay >= previous,
        `attempt ${attempt} shorter than the one before`,
      );
      previous = delay;
    }
  }
});

Deno.test("reconnectDelay: jitter spreads clients that retry together", () => {
  // Clients at the same attempt with different random draws wait different times.
  const delays = new Set(
    Array.from({ length: 11 }, (_, i) => reconnectDelay(3, i / 11)),
  );
  assert.equal(delays.size, 11);
  const sorted = [...delays].sort((a, b) => a - b);
  const ceiling = RECONNECT_BASE_MS * 2 ** 3;
  assert.ok(sorted[0] >= ceiling / 2 && sorted.at(-1)! <= ceiling);
  // The spread covers most of the upper half of the ceiling.
  assert.ok(sorted.at(-1)! - sorted[0] >= ceiling / 2 * 0.9);
});

Deno.test("reconnectDelay: without an injected random it stays in bounds", () => {
  for (let i = 0; i < 200; i++) {
    const delay = reconnectDelay(2);
    assert.ok(delay >= 1000 && delay <= 2000, String(delay));
  }
});

Deno.test("backoffDelay: the Redis layer's reconnect delays grow, are capped and jittered", () => {
  // REDIS_RECONNECT_BASE_MS and REDIS_RECONNECT_MAX_MS, the layer's defaults.
  assert.equal(backoffDelay(0, 100, 5_000, 0), 50);
  assert.equal(backoffDelay(0, 100, 5_000, 1), 100);
  assert.equal(backoffDelay(3, 100, 5_000, 0.5), 600);
  assert.equal(backoffDelay(40, 100, 5_000, 1), 5_000);
  assert.equal(backoffDelay(40, 100, 5_000, 0), 2_500);
});

Deno.test("restartDelay: after a 1012 the client waits the first backoff step, 250–500 ms", () => {
  assert.equal(restartDelay("server restarting", 0), reconnectDelay(0, 0));
  assert.equal(restartDelay("server restarting", 0), 250);
  assert.ok(restartDelay("", 0.999) <= 500);
});

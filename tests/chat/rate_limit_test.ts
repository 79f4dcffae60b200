import assert from "node:assert/strict";
import {
  MESSAGE_BURST,
  MESSAGE_RATE_PER_S,
  TokenBucket,
} from "../../lib/chat/rate_limit.ts";

Deno.test("TokenBucket: a full burst is allowed at once, the next is refused with a wait", () => {
  const bucket = new TokenBucket(MESSAGE_BURST, MESSAGE_RATE_PER_S, 0);
  for (let i = 0; i < MESSAGE_BURST; i++) {
    assert.equal(bucket.take(0), 0, `message ${i + 1} of the burst`);
  }
  assert.equal(bucket.take(0), 1000 / MESSAGE_RATE_PER_S);
});

Deno.test("TokenBucket: refused takes do not consume tokens", () => {
  const bucket = new TokenBucket(1, 2, 0);
  assert.equal(bucket.take(0), 0);
  for (let i = 0; i < 10; i++) assert.equal(bucket.take(0), 500);
  assert.equal(bucket.take(250), 250);
  const almost = bucket.take(499);
  assert.ok(almost >= 1 && almost <= 2, String(almost));
  assert.equal(bucket.take(500), 0);
});

Deno.test("TokenBucket: waiting the returned time is always enough and never longer than one refill", () => {
  for (const rate of [0.3, 1, 2, 3, 5, 6, 7, 10, 1000 / 3]) {
    for (const capacity of [1, 5]) {
      const bucket = new TokenBucket(capacity, rate, 0);
      let now = 0;
      for (let i = 0; i < capacity; i++) assert.equal(bucket.take(now), 0);
      for (let round = 0; round < 20; round++) {
        const wait = bucket.take(now);
        assert.ok(wait > 0, `rate ${rate}: expected a wait`);
        // Never longer than one token's refill time.
        assert.ok(wait <= Math.ceil(1000 / rate), `rate ${rate}: ${wait}`);
        now += wait;
        assert.equal(bucket.take(now), 0, `rate ${rate}, round ${round}`);
      }
    }
  }
});

Deno.test("TokenBucket: a client honouring retryAfter at irregular times is never refused twice", () => {
  // Deterministic pseudo-random arrival gaps (a small LCG), 0..299 ms.
  let seed = 42;
  const gap = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 300;
  for (const [capacity, rate] of [[1, 5], [1, 10], [5, 1], [20, 2], [5, 6]]) {
    const bucket = new TokenBucket(capacity, rate, 0);
    let now = 0;
    for (let i = 0; i < 5_000; i++) {
      now += gap();
      const wait = bucket.take(now);
      if (wait === 0) continue;
      now += wait;
      assert.equal(
        bucket.take(now),
        0,
        `capacity ${capacity}, rate ${rate}, at ${now}`,
      );
    }
  }
});

Deno.test("TokenBucket: refills at the sustained rate", () => {
  const bucket = new TokenBucket(MESSAGE_BURST, MESSAGE_RATE_PER_S, 0);
  // A client sending 10 per second for 10 s: the burst, then 2 per second.
  let allowed = 0;
  for (let t = 0; t < 10_000; t += 100) if (bucket.take(t) === 0) allowed++;
  // 20 of burst + 9.9 s × 2/s refilled (19.8 tokens, 19 whole ones).
  assert.equal(allowed, MESSAGE_BURST + 19);
});

Deno.test("TokenBucket: idle time never saves up more than the burst", () => {
  const bucket = new TokenBucket(3, 1, 0);
  const hour = 3_600_000;
  for (let i = 0; i < 3; i++) assert.equal(bucket.take(hour), 0);
  assert.equal(bucket.take(hour), 1000);
});

Deno.test("TokenBucket: a clock stepping backwards grants nothing and does not freeze the bucket", () => {
  const bucket = new TokenBucket(1, 1, 10_000);
  assert.equal(bucket.take(10_000), 0);
  // The clock steps back 1 s: no token is earned from negative time...
  assert.equal(bucket.take(9_000), 1000);
  // ...and refill resumes from the new reading, not from the old one.
  assert.equal(bucket.take(10_000), 0);

  // A step back of an hour does not lock the sender out for an hour.
  const hour = 3_600_000;
  const b2 = new TokenBucket(1, 1, hour);
  assert.equal(b2.take(hour), 0);
  assert.equal(b2.take(0), 1000);
  assert.equal(b2.take(1000), 0);
});

Deno.test("TokenBucket: the clock defaults to Date.now()", () => {
  const bucket = new TokenBucket(1, 0.001);
  assert.equal(bucket.take(), 0);
  const wait = bucket.take();
  // Refilling a whole token at 0.001/s takes ~1000 s.
  assert.ok(wait > 990_000 && wait <= 1_000_000, String(wait));
});

import assert from "node:assert/strict";
import { PACE_SHARE, SendPacer } from "../../../lib/chat/client/pacer.ts";

const RATE = { burst: 20, perSecond: 2 };
/** Milliseconds per token at the paced rate. */
const INTERVAL = Math.ceil(1000 / (RATE.perSecond * PACE_SHARE));

/** Sends as fast as the pacer allows from `at` until `until`; returns the send times. */
function drain(pacer: SendPacer, at: number, until: number): number[] {
  const times: number[] = [];
  let now = at;
  while (now <= until) {
    const wait = pacer.wait(now);
    assert.notEqual(wait, null);
    if (wait === 0) {
      pacer.take(now);
      times.push(now);
    } else now += wait!;
  }
  return times;
}

Deno.test("pacer: nothing is known before the first rate", () => {
  const pacer = new SendPacer();
  assert.equal(pacer.wait(0), null);
  pacer.pause(1_000, 0);
  assert.equal(pacer.wait(0), null);
});

Deno.test("pacer: the burst at once, then a little under the server's sustained rate", () => {
  const pacer = new SendPacer();
  pacer.setRate(RATE, 0);
  const times = drain(pacer, 0, 10 * INTERVAL);
  assert.deepEqual(times.slice(0, 20), Array(20).fill(0));
  const gaps = times.slice(20).map((t, i) => t - times[19 + i]);
  assert.equal(gaps.length, 10);
  assert.ok(gaps.every((g) => g > 1000 / RATE.perSecond), `${gaps}`);
  assert.ok(gaps.every((g) => g <= INTERVAL), `${gaps}`);
});

Deno.test("pacer: the same rate again keeps what was spent; a new one starts empty", () => {
  const pacer = new SendPacer();
  pacer.setRate(RATE, 0);
  drain(pacer, 0, 0);
  pacer.setRate({ ...RATE }, 10);
  assert.ok(pacer.wait(10)! > 0, "a reconnect is no new burst");
  pacer.setRate({ burst: 5, perSecond: 1 }, 10);
  assert.equal(pacer.wait(10), Math.ceil(1000 / PACE_SHARE));
});

Deno.test("pacer: a pause holds everything until it ends, then one message, then the paced rate", () => {
  const pacer = new SendPacer();
  pacer.setRate(RATE, 0);
  pacer.pause(1_500, 100);
  assert.equal(pacer.wait(100), 1_500);
  assert.equal(pacer.wait(1_599), 1);
  const times = drain(pacer, 1_600, 1_600 + INTERVAL);
  assert.deepEqual(times, [1_600, 1_600 + INTERVAL]);
  // A shorter pause never ends a longer one early.
  pacer.pause(5_000, 2_000);
  pacer.pause(10, 2_000);
  assert.equal(pacer.wait(2_000), 5_000);
});

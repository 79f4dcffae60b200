import assert from "node:assert/strict";
import { eventually, Signal } from "../../support/wait.ts";

Deno.test("Signal.until: resolves at once when ready, else on the notify that makes it ready", async () => {
  const signal = new Signal();
  let n = 0;
  await signal.until(() => n === 0, "n = 0");
  const waiting = signal.until(() => n === 2, "n = 2");
  let resolved = false;
  waiting.then(() => resolved = true);
  n = 1;
  signal.notify();
  await Promise.resolve();
  assert.equal(resolved, false, "n = 1 does not satisfy it");
  n = 2;
  signal.notify();
  await waiting;
  assert.equal(resolved, true);
});

Deno.test("Signal.until: fails after the timeout, saying what it waited for as it stands then", async () => {
  const signal = new Signal();
  let n = 0;
  const waiting = signal.until(() => n > 5, () => `n > 5, n is ${n}`, 20);
  n = 3;
  signal.notify();
  await assert.rejects(
    waiting,
    (err: Error) =>
      err.message === "timed out after 20 ms waiting for: n > 5, n is 3",
  );
});

Deno.test("Signal.until: an error in the condition rejects the wait, not the notifier", async () => {
  const signal = new Signal();
  let broken = false;
  const waiting = signal.until(() => {
    if (broken) throw new Error("bad state");
    return false;
  }, "never");
  broken = true;
  signal.notify();
  await assert.rejects(waiting, /bad state/);
});

Deno.test("eventually: resolves once state changed without an event, fails after the timeout", async () => {
  let done = false;
  setTimeout(() => done = true, 15);
  await eventually(() => done, "done");
  let checks = 0;
  await assert.rejects(
    eventually(async () => (await Promise.resolve(++checks)) < 0, "never", 30),
    /^Error: timed out after 30 ms waiting for: never$/,
  );
  assert.ok(checks > 1, "it re-checked");
});

import assert from "node:assert/strict";
import { withTimeout } from "../lib/async.ts";

Deno.test("withTimeout: a promise that settles in time passes its value or error through", async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1_000, "seven"), 7);
  await assert.rejects(
    withTimeout(Promise.reject(new Error("own failure")), 1_000, "failing"),
    /^Error: own failure$/,
  );
});

Deno.test("withTimeout: a promise that never settles rejects after ms, naming what timed out", async () => {
  const started = performance.now();
  await assert.rejects(
    withTimeout(new Promise(() => {}), 20, "the answer"),
    (err: Error) => err.message === "the answer timed out after 20 ms",
  );
  assert.ok(performance.now() - started >= 19);
});

Deno.test("withTimeout: leaves no timer behind once the promise settled", async () => {
  // Deno's test sanitizer fails this test if the 60 s timer were still pending.
  assert.equal(await withTimeout(Promise.resolve("done"), 60_000, "x"), "done");
});

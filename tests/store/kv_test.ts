/** Which limit on checks per atomic write each kind of KV database gets, and which errors are its size limits. */
import assert from "node:assert/strict";
import {
  isBusy,
  isTooLarge,
  LOCAL_MAX_CHECKS,
  maxChecksFor,
  REMOTE_MAX_CHECKS,
} from "../../lib/store/kv.ts";

Deno.test("maxChecksFor: 10 checks for KV Connect and Deno Deploy, 100 for a file or :memory:", () => {
  assert.equal(maxChecksFor("https://kv.example.com"), REMOTE_MAX_CHECKS);
  assert.equal(maxChecksFor("http://127.0.0.1:4512"), REMOTE_MAX_CHECKS);
  // Deno Deploy: Deno.openKv() with no path.
  assert.equal(maxChecksFor(undefined), REMOTE_MAX_CHECKS);
  assert.equal(maxChecksFor("./data/roomcast.kv"), LOCAL_MAX_CHECKS);
  assert.equal(maxChecksFor("/var/lib/https/roomcast.kv"), LOCAL_MAX_CHECKS);
  assert.equal(maxChecksFor(":memory:"), LOCAL_MAX_CHECKS);
  assert.equal(REMOTE_MAX_CHECKS, 10);
});

Deno.test("isTooLarge: KV's refusals of a write for its size, not a busy database", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const refusal = (op: Deno.AtomicOperation) =>
      op.commit().then(() => null, (err: unknown) => err);
    const value = await refusal(kv.atomic().set(["v"], "x".repeat(70_000)));
    const total = kv.atomic();
    for (let i = 0; i < 16; i++) total.set(["t", i], "x".repeat(60_000));
    const write = await refusal(total);
    assert.ok(isTooLarge(value), String(value));
    assert.ok(isTooLarge(write), String(write));
    assert.equal(isTooLarge(new Error("database is locked")), false);
    assert.equal(isBusy(value), false);
  } finally {
    kv.close();
  }
});

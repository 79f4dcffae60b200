/** Which limit on checks per atomic write each kind of KV database gets, which errors are its size limits, and opening a file another process holds. */
import assert from "node:assert/strict";
import {
  isBusy,
  isTooLarge,
  LOCAL_MAX_CHECKS,
  maxChecksFor,
  OPEN_BUSY_ATTEMPTS,
  openKv,
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

Deno.test("openKv: a file another process is setting up ('database is locked') is opened once it is free; any other error at once", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let calls = 0;
    const busyTwice = (): Promise<Deno.Kv> =>
      ++calls <= 2
        ? Promise.reject(new Error("database is locked"))
        : Promise.resolve(kv);
    assert.equal(await openKv(":memory:", busyTwice), kv);
    assert.equal(calls, 3);

    let refused = 0;
    const broken = (): Promise<Deno.Kv> => {
      refused++;
      return Promise.reject(new Error("unable to open database file"));
    };
    await assert.rejects(openKv(":memory:", broken), /unable to open/);
    assert.equal(refused, 1, "not a lock: no retry");

    let locked = 0;
    const alwaysLocked = (): Promise<Deno.Kv> => {
      locked++;
      return Promise.reject(new Error("database is locked"));
    };
    await assert.rejects(openKv(":memory:", alwaysLocked), /locked/);
    assert.equal(locked, OPEN_BUSY_ATTEMPTS, "bounded");
  } finally {
    kv.close();
  }
});

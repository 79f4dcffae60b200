/** Which limit on checks per atomic write each kind of KV database gets. */
import assert from "node:assert/strict";
import {
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

/**
 * The RevocationStore contract, on what `createStore` gives.
 */
import assert from "node:assert/strict";
import { createStore } from "../../lib/store/stores.ts";

Deno.test("revocation store: revoked session ids are found among any number of ids", async () => {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    const { revocations } = stores;
    const sids = Array.from({ length: 25 }, (_, i) => `sid-${i}`);
    assert.deepEqual(await revocations.revokedAmong(sids), new Set());
    const expiresAt = Date.now() + 60_000;
    for (const sid of ["sid-0", "sid-11", "sid-24"]) {
      await revocations.revoke(sid, expiresAt);
    }
    // An already expired token is still revoked for a moment: a late sign-out must not be lost.
    await revocations.revoke("sid-12", Date.now() - 1_000);
    assert.deepEqual(
      await revocations.revokedAmong(sids),
      new Set(["sid-0", "sid-11", "sid-12", "sid-24"]),
    );
    assert.deepEqual(await revocations.revokedAmong([]), new Set());
  } finally {
    await stores.close();
  }
});

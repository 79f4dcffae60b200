/**
 * The RevocationStore contract, on what `createStore` gives.
 */
import assert from "node:assert/strict";
import { KvRevocationStore } from "../../lib/store/revocations.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { RevocationStore } from "../../lib/store/types.ts";

/** The revocation store of a fresh in-memory `createStore`, closed after `fn`. */
async function withRevocations(
  fn: (revocations: RevocationStore) => Promise<void>,
): Promise<void> {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    await fn(stores.revocations);
  } finally {
    await stores.close();
  }
}

Deno.test("revocation store: revoked session ids are found among any number of ids", () =>
  withRevocations(async (revocations) => {
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
  }));

Deno.test("revocation store: lookups asked together share a read, and a sign-out done before a lookup is always seen", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    let reads = 0;
    const kv = new Proxy(raw, {
      get(target, prop) {
        // Point reads: the generation's, or ids' (listings are not reads of a lookup's own).
        if (prop === "get" || prop === "getMany") reads++;
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const revocations = new KvRevocationStore(kv);
    await revocations.revoke("b", Date.now() + 60_000);
    const answers = await Promise.all(
      ["a", "b", "c", "b"].map((sid) => revocations.revokedAmong([sid])),
    );
    assert.deepEqual(answers, [
      new Set(),
      new Set(["b"]),
      new Set(),
      new Set(["b"]),
    ]);
    // The first read alone, the three asked meanwhile in the next.
    assert.equal(reads, 2);
    const pending = revocations.revokedAmong(["c"]);
    await revocations.revoke("c", Date.now() + 60_000);
    await pending; // asked before the sign-out: either answer is right
    assert.deepEqual(await revocations.revokedAmong(["c"]), new Set(["c"]));
  } finally {
    raw.close();
  }
});

Deno.test("revocation store: the generation moves with every revocation, so a holder of many sessions can skip asking when nothing was revoked", () =>
  withRevocations(async (revocations) => {
    assert.equal(await revocations.generation(), null);
    await revocations.revoke("sid-1", Date.now() + 60_000);
    const first = await revocations.generation();
    assert.notEqual(first, null);
    assert.equal(await revocations.generation(), first);
    await revocations.revoke("sid-2", Date.now() + 60_000);
    assert.notEqual(await revocations.generation(), first);
  }));

/**
 * The RevocationStore contract, on what `createStore` gives.
 */
import assert from "node:assert/strict";
import {
  KvRevocationStore,
  MAX_HELD_REVOCATIONS,
  MAX_SNAPSHOT_AGE_MS,
  MAX_UNUSED_SNAPSHOTS,
} from "../../lib/store/revocations.ts";
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

/** Reads a store made on `counted(raw)` issued, by kind. */
interface ReadCounts {
  get: number;
  getMany: number;
  list: number;
}

/**
 * `raw` counting its reads; while `hold` is set, each `get` reads at once,
 * calls `onRead` once it has read, and answers only once `hold` resolves (a
 * read in flight).
 */
function counted(raw: Deno.Kv) {
  const counts: ReadCounts = { get: 0, getMany: 0, list: 0 };
  const control: { hold: Promise<void> | null; onRead: () => void } = {
    hold: null,
    onRead: () => {},
  };
  const kv = new Proxy(raw, {
    get(target, prop) {
      if (prop === "get") {
        return async (key: Deno.KvKey) => {
          counts.get++;
          const hold = control.hold;
          const entry = await target.get(key);
          control.onRead();
          await hold;
          return entry;
        };
      }
      if (prop === "getMany" || prop === "list") counts[prop]++;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, counts, control };
}

/** Two connections to one fresh KV file (as two processes), closed after `fn`. */
async function withTwoConnections(
  fn: (a: Deno.Kv, b: Deno.Kv) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const a = await Deno.openKv(`${dir}/kv.sqlite`);
  const b = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(a, b);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `count` revocations the way `revoke` does, without moving the generation. */
async function writeRevocations(kv: Deno.Kv, count: number, expiry: number) {
  for (let i = 0; i < count; i += 500) {
    const op = kv.atomic();
    for (let j = i; j < Math.min(count, i + 500); j++) {
      op.set(["revoked", `bulk-${j}`], expiry, { expireIn: 600_000 });
    }
    assert.ok((await op.commit()).ok);
  }
}

Deno.test("revocation store: 1,000 lookups asked together cost two reads of the generation and one listing, not a getMany per ten ids", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const { kv, counts } = counted(raw);
    const revocations = new KvRevocationStore(kv);
    for (const sid of ["sid-3", "sid-500", "sid-999"]) {
      await revocations.revoke(sid, Date.now() + 60_000);
    }
    const sids = Array.from({ length: 1_000 }, (_, i) => `sid-${i}`);
    const answers = await Promise.all(
      sids.map((sid) => revocations.revokedAmong([sid])),
    );
    assert.deepEqual(
      sids.filter((_, i) => answers[i].size > 0),
      ["sid-3", "sid-500", "sid-999"],
    );
    // The first lookup alone (its read, then the listing that answers it),
    // the 999 asked meanwhile by the next read, which found the same generation.
    assert.deepEqual(counts, { get: 2, getMany: 0, list: 1 });
    // While nothing is revoked, a later round is two reads of the generation.
    await Promise.all(sids.map((sid) => revocations.revokedAmong([sid])));
    assert.deepEqual(counts, { get: 4, getMany: 0, list: 1 });
  } finally {
    raw.close();
  }
});

Deno.test("revocation store: a revocation on another connection is seen by the next lookup", () =>
  withTwoConnections(async (a, b) => {
    const { kv, counts } = counted(a);
    const reader = new KvRevocationStore(kv);
    const writer = new KvRevocationStore(b);
    assert.deepEqual(await reader.revokedAmong(["x"]), new Set());
    assert.deepEqual(await reader.revokedAmong(["x"]), new Set());
    assert.equal(counts.list, 1, "the second answered by the snapshot");
    await writer.revoke("x", Date.now() + 60_000);
    assert.deepEqual(await reader.revokedAmong(["x", "y"]), new Set(["x"]));
    assert.equal(counts.list, 2, "the generation moved: listed again");
  }));

Deno.test("revocation store: a lookup asked while a read is in flight waits for the next read", () =>
  withTwoConnections(async (a, b) => {
    const { kv, counts, control } = counted(a);
    const reader = new KvRevocationStore(kv);
    const writer = new KvRevocationStore(b);
    assert.deepEqual(await reader.revokedAmong(["y"]), new Set()); // a snapshot held
    let release = () => {};
    control.hold = new Promise((resolve) => release = resolve);
    const read = new Promise<void>((resolve) => control.onRead = resolve);
    // Its read of the generation is done before the sign-out; its answer waits.
    const before = reader.revokedAmong(["y"]);
    await read;
    await writer.revoke("y", Date.now() + 60_000);
    const after = reader.revokedAmong(["y"]);
    control.hold = null;
    release();
    assert.deepEqual(await before, new Set(), "answered by the snapshot");
    assert.deepEqual(await after, new Set(["y"]));
    assert.equal(counts.get, 3);
  }));

Deno.test("revocation store: a held revocation stops counting at its expiry, and an older release's entry (true) counts until KV drops it", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    let clock = Date.now();
    const { kv, counts } = counted(raw);
    const revocations = new KvRevocationStore(kv, () => clock);
    await revocations.revoke("short", clock + 5_000);
    await revocations.revoke("long", clock + 600_000);
    // Written by a release that stored `true` (and moved no generation).
    await raw.set(["revoked", "old"], true, { expireIn: 600_000 });
    const sids = ["short", "long", "old", "none"];
    assert.deepEqual(
      await revocations.revokedAmong(sids),
      new Set(["short", "long", "old"]),
    );
    clock += 5_000;
    assert.deepEqual(
      await revocations.revokedAmong(sids),
      new Set(["long", "old"]),
    );
    assert.equal(counts.list, 1, "answered by the snapshot");
    // A fresh listing leaves it out too (KV has not dropped it yet).
    const fresh = new KvRevocationStore(raw, () => clock);
    assert.deepEqual(await fresh.revokedAmong(sids), new Set(["long", "old"]));
  } finally {
    raw.close();
  }
});

Deno.test("revocation store: past the most revocations held, lookups read their ids, and list again once the snapshot age passed", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    let clock = Date.now();
    const { kv, counts } = counted(raw);
    const revocations = new KvRevocationStore(kv, () => clock);
    await writeRevocations(raw, MAX_HELD_REVOCATIONS + 1, clock + 600_000);
    await revocations.revoke("a", clock + 60_000);
    assert.deepEqual(
      await revocations.revokedAmong(["a", "b", "bulk-7"]),
      new Set(["a", "bulk-7"]),
    );
    assert.deepEqual(counts, { get: 1, getMany: 1, list: 1 });
    await revocations.revoke("b", clock + 60_000);
    assert.deepEqual(
      await revocations.revokedAmong(["a", "b", "c"]),
      new Set(["a", "b"]),
    );
    assert.deepEqual(
      counts,
      { get: 1, getMany: 2, list: 1 },
      "ids read, nothing listed",
    );
    clock += MAX_SNAPSHOT_AGE_MS;
    await revocations.revokedAmong(["c"]);
    assert.deepEqual(counts, { get: 2, getMany: 3, list: 2 });
  } finally {
    raw.close();
  }
});

Deno.test("revocation store: a revocation that did not move the generation (an older release) is seen once the snapshot is older than its bound", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    let clock = Date.now();
    const revocations = new KvRevocationStore(raw, () => clock);
    assert.deepEqual(await revocations.revokedAmong(["old"]), new Set());
    // What a process without the generation key writes: the entry alone.
    await raw.set(["revoked", "old"], true, { expireIn: 600_000 });
    clock += MAX_SNAPSHOT_AGE_MS - 1;
    assert.deepEqual(
      await revocations.revokedAmong(["old"]),
      new Set(),
      "the snapshot still answers",
    );
    clock += 1;
    assert.deepEqual(await revocations.revokedAmong(["old"]), new Set(["old"]));
  } finally {
    raw.close();
  }
});

Deno.test("revocation store: while sign-outs move the generation before every next read, lookups read their ids, and hold a snapshot again once it stays", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const { kv, counts } = counted(raw);
    const revocations = new KvRevocationStore(kv);
    for (let i = 0; i <= MAX_UNUSED_SNAPSHOTS; i++) {
      await revocations.revoke(`s-${i}`, Date.now() + 60_000);
      assert.deepEqual(
        await revocations.revokedAmong([`s-${i}`]),
        new Set([`s-${i}`]),
      );
    }
    // Each listing went unused (the generation moved before the next read):
    // after MAX_UNUSED_SNAPSHOTS of them, the ids are read.
    assert.equal(counts.list, MAX_UNUSED_SNAPSHOTS);
    assert.equal(counts.getMany, 1);
    // The generation stayed since the last read: listed, then held.
    await revocations.revokedAmong(["x"]);
    await revocations.revokedAmong(["x"]);
    assert.equal(counts.list, MAX_UNUSED_SNAPSHOTS + 1);
    assert.equal(counts.getMany, 1);
  } finally {
    raw.close();
  }
});

/**
 * `ConnectionRegistry.enforceSessions`: the periodic re-check of live
 * sockets' sessions, on a real KV revocation store.
 */
import assert from "node:assert/strict";
import {
  ConnectionRegistry,
  type ConsumerScope,
  FULL_SESSION_SWEEP_MS,
} from "../../lib/chat/consumer.ts";
import { CloseCode } from "../../lib/shared.ts";
import { KvRevocationStore } from "../../lib/store/revocations.ts";
import type { RevocationStore } from "../../lib/store/types.ts";
import type { ChatSocket } from "../../lib/ws/upgrade.ts";

/** A socket that records how it was closed. */
function socket(): ChatSocket & { closedWith: number | null } {
  return {
    readyState: 1,
    bufferedAmount: 0,
    closedWith: null,
    send() {},
    close(code?: number) {
      this.closedWith = code ?? 1000;
    },
    addEventListener() {},
    removeEventListener() {},
  };
}

/** A socket's scope; its session was checked now (before the upgrade). */
function scope(sessionId: string, expiresAt = Date.now() + 60_000) {
  return {
    room: "general",
    ip: "127.0.0.1",
    user: { id: `guest:${sessionId}`, name: sessionId, kind: "guest" },
    sessionId,
    sessionCheckedAt: performance.now(),
    expiresAt,
  } satisfies ConsumerScope;
}

/**
 * A revocation store on a real in-memory KV that counts the lookups asked of
 * it (`getMany`: each was one `getMany` before the store answered from a
 * snapshot) and the session ids they name (`keys`).
 */
async function countingStore() {
  const raw = await Deno.openKv(":memory:");
  const counts = { getMany: 0, keys: 0 };
  const inner = new KvRevocationStore(raw);
  const store: RevocationStore = {
    revoke: (sid, expiresAt) => inner.revoke(sid, expiresAt),
    generation: () => inner.generation(),
    revokedAmong(sids) {
      counts.getMany++;
      counts.keys += sids.length;
      return inner.revokedAmong(sids);
    },
  };
  return { store, counts, close: () => raw.close() };
}

Deno.test("session re-check: with no revocation since the last one it asks about no session, and a sign-out still closes its socket", async () => {
  const { store, counts, close } = await countingStore();
  try {
    const registry = new ConnectionRegistry();
    const sockets = Array.from({ length: 50 }, () => socket());
    sockets.forEach((s, i) => registry.add(s, scope(`sid-${i}`)));
    assert.equal(await registry.enforceSessions(store), 0);
    assert.equal(
      counts.keys,
      50,
      "the first re-check asks about every session",
    );
    for (let i = 0; i < 3; i++) {
      assert.equal(await registry.enforceSessions(store), 0);
    }
    assert.equal(counts.keys, 50, "nothing revoked since: nothing asked");
    await store.revoke("sid-7", Date.now() + 60_000);
    assert.equal(await registry.enforceSessions(store), 1);
    assert.equal(sockets[7].closedWith, CloseCode.sessionEnded);
    assert.equal(sockets.filter((s) => s.closedWith !== null).length, 1);
  } finally {
    close();
  }
});

Deno.test("session re-check: a socket added after a re-check is asked about next time, even when nothing was revoked since", async () => {
  const { store, counts, close } = await countingStore();
  try {
    const registry = new ConnectionRegistry();
    registry.add(socket(), scope("early"));
    // Its session checked, its socket not yet added...
    const lateScope = scope("late");
    // ...when it is revoked, before the re-check reads the generation.
    await store.revoke("late", Date.now() + 60_000);
    assert.equal(await registry.enforceSessions(store), 0);
    const late = socket();
    registry.add(late, lateScope);
    const before = counts.keys;
    assert.equal(await registry.enforceSessions(store), 1);
    assert.equal(late.closedWith, CloseCode.sessionEnded);
    assert.equal(counts.keys - before, 1, "only the new socket's session");
  } finally {
    close();
  }
});

Deno.test("session re-check: expired sessions close without any read", async () => {
  const { store, counts, close } = await countingStore();
  try {
    const registry = new ConnectionRegistry();
    const expired = socket();
    registry.add(socket(), scope("live"));
    registry.add(expired, scope("old", Date.now() + 1_000));
    await registry.enforceSessions(store);
    const reads = counts.getMany;
    assert.equal(
      await registry.enforceSessions(store, Date.now() + 2_000),
      1,
    );
    assert.equal(expired.closedWith, CloseCode.sessionEnded);
    assert.equal(counts.getMany, reads);
  } finally {
    close();
  }
});

Deno.test("session re-check: a failed read leaves the sockets to be asked about next time", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    let fail = false;
    const kv = new Proxy(raw, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        // The store's reads of ids: per id, or all listed at once.
        if (prop === "getMany" && fail) {
          return () => Promise.reject(new Error("kv down"));
        }
        if (prop === "list" && fail) {
          return () => {
            throw new Error("kv down");
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const store = new KvRevocationStore(kv);
    const registry = new ConnectionRegistry();
    const s = socket();
    registry.add(s, scope("a"));
    await store.revoke("a", Date.now() + 60_000);
    fail = true;
    await assert.rejects(registry.enforceSessions(store), /kv down/);
    fail = false;
    assert.equal(await registry.enforceSessions(store), 1);
    assert.equal(s.closedWith, CloseCode.sessionEnded);
  } finally {
    raw.close();
  }
});

Deno.test("session re-check: every session is asked about at least once a minute, so a revocation that did not move the generation (an older release) still closes its socket", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const store = new KvRevocationStore(raw);
    const registry = new ConnectionRegistry();
    const s = socket();
    registry.add(s, scope("a"));
    const t = Date.now();
    assert.equal(await registry.enforceSessions(store, t), 0);
    // What a process without the generation key writes: the entry alone.
    await raw.set(["revoked", "a"], true, { expireIn: 60_000 });
    assert.equal(
      await registry.enforceSessions(store, t + FULL_SESSION_SWEEP_MS - 1),
      0,
    );
    assert.equal(
      await registry.enforceSessions(store, t + FULL_SESSION_SWEEP_MS),
      1,
    );
    assert.equal(s.closedWith, CloseCode.sessionEnded);
  } finally {
    raw.close();
  }
});

Deno.test("session re-check: sockets whose sessions were checked after the last re-check read the generation cost no read while nothing is revoked (a reconnect storm)", async () => {
  const { store, counts, close } = await countingStore();
  try {
    const registry = new ConnectionRegistry();
    // At start-up, before any socket (as createServices does).
    await registry.enforceSessions(store);
    const sockets = Array.from({ length: 1_000 }, () => socket());
    sockets.forEach((s, i) => registry.add(s, scope(`sid-${i}`)));
    assert.equal(await registry.enforceSessions(store), 0);
    assert.equal(counts.getMany, 0, "no session asked about");
    // A revocation moves the generation: everyone is asked about.
    await store.revoke("sid-500", Date.now() + 60_000);
    assert.equal(await registry.enforceSessions(store), 1);
    assert.equal(sockets[500].closedWith, CloseCode.sessionEnded);
    assert.equal(counts.keys, 1_000);
  } finally {
    close();
  }
});

Deno.test("session re-check: a storm outlasting a re-check costs no read while nothing is revoked; a revocation still reaches a socket checked before it", async () => {
  const { store, counts, close } = await countingStore();
  try {
    const registry = new ConnectionRegistry();
    // At start-up, before any socket (as createServices does).
    await registry.enforceSessions(store);
    // A storm: sessions checked now, sockets added on both sides of a re-check.
    const scopes = Array.from({ length: 1_000 }, (_, i) => scope(`sid-${i}`));
    const sockets = scopes.map(() => socket());
    for (let i = 0; i < 500; i++) registry.add(sockets[i], scopes[i]);
    assert.equal(await registry.enforceSessions(store), 0);
    for (let i = 500; i < 1_000; i++) registry.add(sockets[i], scopes[i]);
    assert.equal(await registry.enforceSessions(store), 0);
    assert.equal(counts.getMany, 0, "no session asked about");
    // Checked, then revoked before its socket is added: still closed.
    const lateScope = scope("late");
    await store.revoke("late", Date.now() + 60_000);
    assert.equal(await registry.enforceSessions(store), 0);
    const late = socket();
    registry.add(late, lateScope);
    const keys = counts.keys;
    assert.equal(await registry.enforceSessions(store), 1);
    assert.equal(late.closedWith, CloseCode.sessionEnded);
    assert.equal(counts.keys - keys, 1, "only the late socket's session");
  } finally {
    close();
  }
});

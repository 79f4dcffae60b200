/**
 * The storage factory: one bundle per backend, one owner of its database.
 */
import assert from "node:assert/strict";
import { createStore } from "../../lib/store/stores.ts";
import { STORE_KINDS } from "../../lib/store/types.ts";

Deno.test("createStore: every backend gives all its stores on one database, released by one close()", async () => {
  for (const store of STORE_KINDS) {
    const dir = await Deno.makeTempDir({ prefix: "roomcast-stores-" });
    try {
      const stores = await createStore({
        store,
        kvPath: `${dir}/data/stores.kv`,
        historyRetention: 100,
      });
      const ana = { id: "guest:ana", name: "Ana", kind: "guest" as const };
      await stores.messages.append({
        room: "r",
        user: ana,
        text: "hi",
        clientId: "c1",
      });
      await stores.presence.heartbeat("i1");
      await stores.presence.track({
        room: "r",
        conn: "specific.i1!1",
        user: ana,
        since: 1,
        instance: "i1",
      });
      await stores.users.upsertGoogle({ sub: "1", name: "Ana", email: "a@x" });
      await stores.revocations.revoke("sid-1", Date.now() + 60_000);
      await stores.secrets.keep("session", "kept");

      // Another bundle on the same database sees what the first wrote.
      const again = await createStore({
        store,
        kvPath: `${dir}/data/stores.kv`,
        historyRetention: 100,
      });
      try {
        assert.equal(await again.messages.lastSeq("r"), 1);
        assert.deepEqual(await again.presence.counts(10), new Map([["r", 1]]));
        assert.equal((await again.users.getGoogle("1"))?.name, "Ana");
        assert.deepEqual(
          await again.revocations.revokedAmong(["sid-1", "sid-2"]),
          new Set(["sid-1"]),
        );
        assert.equal(
          (await again.secrets.keep("session", "late")).value,
          "kept",
        );
      } finally {
        await again.close();
      }

      assert.equal(await stores.messages.ping(), true);
      await stores.close();
      // One close releases the database under every part, and a second is harmless.
      assert.equal(await stores.messages.ping(), false);
      await assert.rejects(() => stores.users.getGoogle("1"));
      await stores.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

/**
 * The SecretStore contract, on what `createStore` gives: the first candidate
 * stored wins, for every caller on the database, however they race.
 */
import assert from "node:assert/strict";
import { createStore } from "../../lib/store/stores.ts";
import type { Stores } from "../../lib/store/types.ts";

const open = (kvPath: string): Promise<Stores> =>
  createStore({ store: "kv", kvPath, historyRetention: 100 });

Deno.test("secret store: the first candidate is kept; later ones get it", async () => {
  const stores = await open(":memory:");
  try {
    assert.deepEqual(await stores.secrets.keep("session", "first"), {
      value: "first",
      created: true,
    });
    assert.deepEqual(await stores.secrets.keep("session", "second"), {
      value: "first",
      created: false,
    });
    // Names are independent.
    assert.deepEqual(await stores.secrets.keep("other", "third"), {
      value: "third",
      created: true,
    });
  } finally {
    await stores.close();
  }
});

Deno.test("secret store: connections racing on one KV file all get one value, stored once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-secrets-" });
  const connections = await Promise.all(
    Array.from({ length: 4 }, () => open(`${dir}/data.kv`)),
  );
  try {
    const kept = await Promise.all(
      connections.flatMap((stores, c) =>
        Array.from(
          { length: 5 },
          (_, i) => stores.secrets.keep("session", `candidate-${c}-${i}`),
        )
      ),
    );
    assert.equal(new Set(kept.map((k) => k.value)).size, 1);
    assert.equal(kept.filter((k) => k.created).length, 1);
    // And it outlives the connections that wrote it.
    for (const stores of connections) await stores.close();
    const later = await open(`${dir}/data.kv`);
    try {
      assert.deepEqual(await later.secrets.keep("session", "late"), {
        value: kept[0].value,
        created: false,
      });
    } finally {
      await later.close();
    }
  } finally {
    for (const stores of connections) await stores.close();
    await Deno.remove(dir, { recursive: true });
  }
});

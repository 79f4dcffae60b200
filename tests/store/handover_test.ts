/**
 * The HandoverStore contract, on what `createStore` gives: what stopping
 * processes leave, the next finds — every leaver's, whole — within a bound.
 */
import assert from "node:assert/strict";
import { createStore } from "../../lib/store/stores.ts";
import { MAX_HANDOVER_CHUNKS, type Stores } from "../../lib/store/types.ts";

const open = (kvPath: string): Promise<Stores> =>
  createStore({ store: "kv", kvPath, historyRetention: 100 });

Deno.test("handover store: what each leaver left is collected, by any connection on the database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-handover-" });
  const [first, second, next] = await Promise.all(
    [0, 1, 2].map(() => open(`${dir}/data.kv`)),
  );
  try {
    assert.deepEqual(await next.handover.collect(), []);
    await first.handover.leave([{ data: "a", mac: "1" }, {
      data: "b",
      mac: "2",
    }], 60_000);
    await second.handover.leave([{ data: "c", mac: "3" }], 60_000);
    await second.handover.leave([], 60_000);
    const collected = await next.handover.collect();
    assert.deepEqual(
      collected.map((c) => c.data + c.mac).sort(),
      ["a1", "b2", "c3"],
    );
  } finally {
    for (const stores of [first, second, next]) await stores.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`handover store: a start reads at most MAX_HANDOVER_CHUNKS (${MAX_HANDOVER_CHUNKS}) chunks`, async () => {
  const stores = await open(":memory:");
  try {
    await stores.handover.leave(
      Array.from(
        { length: MAX_HANDOVER_CHUNKS + 20 },
        (_, i) => ({ data: `d${i}`, mac: "m" }),
      ),
      60_000,
    );
    assert.equal((await stores.handover.collect()).length, MAX_HANDOVER_CHUNKS);
  } finally {
    await stores.close();
  }
});

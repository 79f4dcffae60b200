import assert from "node:assert/strict";
import { LruMap } from "../lib/lru.ts";

Deno.test("LruMap: setting a key makes it the newest; past max the least recently set goes", () => {
  const map = new LruMap<string, number>(3);
  map.set("a", 1).set("b", 2).set("c", 3);
  assert.equal(map.get("a"), 1, "a get does not count as use");
  map.set("a", 10);
  map.set("d", 4);
  assert.deepEqual([...map.entries()], [["c", 3], ["a", 10], ["d", 4]]);
  assert.equal(map.max, 3);
  for (let i = 0; i < 1_000; i++) map.set(`k${i}`, i);
  assert.equal(map.size, 3);
  assert.deepEqual([...map.keys()], ["k997", "k998", "k999"]);
  map.delete("k998");
  assert.deepEqual([...map.keys()], ["k997", "k999"]);
});

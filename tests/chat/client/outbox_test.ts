import assert from "node:assert/strict";
import {
  Outbox,
  outboxKey,
  type StorageLike,
} from "../../../lib/chat/client/outbox.ts";

function memoryStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

const KEY = outboxKey("general", "guest:ana");

Deno.test("outbox: pending messages are saved on every change and gone when confirmed", () => {
  const storage = memoryStorage();
  const outbox = new Outbox(storage, KEY);
  outbox.load();
  assert.deepEqual(outbox.items, []);
  outbox.add({ clientId: "a", text: "one", ts: 1 });
  outbox.add({ clientId: "b", text: "two", ts: 2 });
  assert.deepEqual(JSON.parse(storage.getItem(KEY)!), outbox.items);

  // A reload finds them, in order.
  const again = new Outbox(storage, KEY);
  again.load();
  assert.deepEqual(again.items.map((p) => p.clientId), ["a", "b"]);

  assert.equal(again.confirm(["a", "zzz"]), true);
  assert.deepEqual(JSON.parse(storage.getItem(KEY)!), again.items);
  assert.equal(again.confirm(["zzz"]), false, "nothing of ours");
  again.confirm(["b"]);
  assert.deepEqual(again.items, []);
  assert.equal(storage.map.has(KEY), false, "an empty outbox is removed");
});

Deno.test("outbox: unreadable or foreign saved data counts as empty", () => {
  const storage = memoryStorage();
  for (const saved of ["{not json", '{"a":1}', "42"]) {
    storage.setItem(KEY, saved);
    const outbox = new Outbox(storage, KEY);
    outbox.load();
    assert.deepEqual(outbox.items, [], saved);
  }
  storage.setItem(
    KEY,
    JSON.stringify([
      { clientId: "ok", text: "t", ts: 1 },
      { clientId: 1 },
      null,
    ]),
  );
  const outbox = new Outbox(storage, KEY);
  outbox.load();
  assert.deepEqual(outbox.items.map((p) => p.clientId), ["ok"]);
});

Deno.test("outbox: storage that throws, or none, only loses persistence", () => {
  const broken: StorageLike = {
    getItem: () => {
      throw new Error("disabled");
    },
    setItem: () => {
      throw new Error("quota");
    },
    removeItem: () => {
      throw new Error("disabled");
    },
  };
  for (const storage of [broken, null]) {
    const outbox = new Outbox(storage, KEY);
    outbox.load();
    outbox.add({ clientId: "a", text: "kept in memory", ts: 1 });
    assert.deepEqual(outbox.items.map((p) => p.text), ["kept in memory"]);
    outbox.confirm(["a"]);
    assert.deepEqual(outbox.items, []);
  }
});

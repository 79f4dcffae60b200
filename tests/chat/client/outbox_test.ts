import assert from "node:assert/strict";
import {
  legacyOutboxKey,
  legacyOutboxKeys,
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

const KEY = outboxKey("general");

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

Deno.test("outbox: kept by room, whoever is signed in; a discarded message is gone", () => {
  assert.equal(outboxKey("general"), "roomcast:outbox:general");
  const storage = memoryStorage();
  const outbox = new Outbox(storage, KEY);
  outbox.load();
  outbox.add({ clientId: "a", text: "one", ts: 1 });
  outbox.add({ clientId: "b", text: "two", ts: 2 });
  assert.equal(outbox.has("a"), true);
  assert.equal(outbox.discard("a"), true);
  assert.equal(outbox.discard("a"), false);
  assert.equal(outbox.has("a"), false);
  assert.deepEqual(JSON.parse(storage.getItem(KEY)!), [
    { clientId: "b", text: "two", ts: 2 },
  ]);
});

Deno.test("outbox: what older versions saved under a user id joins the room's outbox once", () => {
  const storage = memoryStorage();
  const withKeys: StorageLike = {
    ...storage,
    key: (i) => [...storage.map.keys()][i] ?? null,
    get length() {
      return storage.map.size;
    },
  };
  storage.setItem(KEY, JSON.stringify([{ clientId: "n", text: "new", ts: 5 }]));
  storage.setItem(
    legacyOutboxKey("general", "guest:old"),
    JSON.stringify([
      { clientId: "o2", text: "old two", ts: 3 },
      { clientId: "n", text: "new", ts: 5 },
    ]),
  );
  storage.setItem(
    legacyOutboxKey("general", "guest:ana"),
    JSON.stringify([{ clientId: "o1", text: "old one", ts: 2 }]),
  );
  storage.setItem(legacyOutboxKey("generalx", "guest:ana"), "[]");

  // Without listing, only the named user's legacy key is known.
  assert.deepEqual(legacyOutboxKeys(storage, "general", "guest:ana"), [
    legacyOutboxKey("general", "guest:ana"),
  ]);
  const found = legacyOutboxKeys(withKeys, "general", "guest:ana");
  assert.deepEqual(found.sort(), [
    legacyOutboxKey("general", "guest:ana"),
    legacyOutboxKey("general", "guest:old"),
  ]);

  const outbox = new Outbox(storage, KEY);
  outbox.load(found);
  assert.deepEqual(outbox.items.map((p) => p.clientId), ["n", "o1", "o2"]);
  assert.deepEqual([...storage.map.keys()].sort(), [
    KEY,
    legacyOutboxKey("generalx", "guest:ana"),
  ]);
});

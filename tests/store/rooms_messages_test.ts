/**
 * A room's record (RoomStore) and its history (MessageStore) share one
 * database: neither may overwrite the other's keys.
 */
import assert from "node:assert/strict";
import { createStore } from "../../lib/store/stores.ts";
import { STORE_KINDS } from "../../lib/store/types.ts";
import { DIRECT_ROOM_SETTINGS } from "../../lib/chat/access.ts";
import type { ChatUser } from "../../lib/chat/types.ts";

const ANA: ChatUser = { id: "google:ana", name: "Ana", kind: "google" };

for (const store of STORE_KINDS) {
  Deno.test(`rooms and messages (${store}): a room's record and its history live side by side`, async () => {
    const stores = await createStore({
      store,
      kvPath: ":memory:",
      historyRetention: 100,
    });
    try {
      const { rooms, messages } = stores;
      await messages.append({ room: "r", user: ANA, text: "1", clientId: "a" });
      await rooms.create("r", ANA, DIRECT_ROOM_SETTINGS);
      await messages.append({ room: "r", user: ANA, text: "2", clientId: "b" });
      assert.equal(await messages.lastSeq("r"), 2);
      assert.deepEqual(
        (await messages.recent("r", 10)).messages.map((m) => m.text),
        ["1", "2"],
      );
      assert.equal((await rooms.get("r"))?.settings.visibility, "private");
    } finally {
      await stores.close();
    }
  });
}

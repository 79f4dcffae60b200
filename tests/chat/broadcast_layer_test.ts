import assert from "node:assert/strict";
import { TEST_SECRET } from "../_helpers/server.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { guestCookie } from "../../support/guest.ts";
import { startWorker } from "../_helpers/instances.ts";
import { BroadcastLayer } from "../../lib/chat/broadcast_layer.ts";

Deno.test("broadcast layer: clients on two workers in one room talk both ways", async () => {
  const dir = await Deno.makeTempDir();
  const env = {
    CHANNEL_LAYER: "broadcast",
    KV_PATH: `${dir}/shared.kv`,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
  };
  const one = await startWorker(env);
  const two = await startWorker(env);
  try {
    assert.notEqual(one.port, two.port);
    // Same secret: a session from worker one is valid on worker two, as behind a load balancer.
    const ana = await guestCookie(one.origin, "Ana");
    const ben = await guestCookie(two.origin, "Ben");
    const onOne = await TestClient.connect(
      `ws://127.0.0.1:${one.port}/ws/chat/lobby`,
      {
        cookie: ana,
        origin: one.origin,
      },
    );
    const onTwo = await TestClient.connect(
      `ws://127.0.0.1:${two.port}/ws/chat/lobby`,
      {
        cookie: ben,
        origin: two.origin,
      },
    );
    const elsewhere = await TestClient.connect(
      `ws://127.0.0.1:${two.port}/ws/chat/other`,
      {
        cookie: ben,
        origin: two.origin,
      },
    );
    await Promise.all([
      onOne.nextOf("welcome"),
      onTwo.nextOf("welcome"),
      elsewhere.nextOf("welcome"),
    ]);

    onOne.send({ type: "message", text: "from worker one", clientId: "w1" });
    const atTwo = await onTwo.nextOf("message");
    assert.equal(atTwo.message.text, "from worker one");
    assert.equal(atTwo.message.user.name, "Ana");

    onTwo.send({ type: "message", text: "from worker two", clientId: "w2" });
    const atOne = await onOne.next((f) =>
      f.type === "message" && f.message.text === "from worker two"
    );
    assert.equal(atOne.type, "message");
    // Both workers share one KV file: one sequence for the room.
    if (atOne.type === "message") assert.equal(atOne.message.seq, 2);

    elsewhere.send({ type: "message", text: "marker", clientId: "w3" });
    assert.equal((await elsewhere.nextOf("message")).message.text, "marker");
    assert.ok(
      !elsewhere.frames.some((f) =>
        f.type === "message" && f.message.room === "lobby"
      ),
    );

    await Promise.all([onOne.close(), onTwo.close(), elsewhere.close()]);
  } finally {
    await one.stop();
    await two.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("broadcast layer: a group emptied and joined again at once still sends (Deno's subscription is kept)", async () => {
  const layer = new BroadcastLayer({ prefix: `test:${crypto.randomUUID()}:` });
  const member = { name: "conn-1", send: () => {} };
  try {
    for (let i = 0; i < 20; i++) {
      await layer.groupAdd("room", member);
      // The isolate's last channel closes: Deno unsubscribes…
      await layer.groupDiscard("room", member);
      // …and a join right after opens a channel before its receive loop has ended.
      await layer.groupAdd("room", member);
      // One turn of the event loop, in which that loop ends.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await layer.groupSend("room", { type: "resync" });
      await layer.groupDiscard("room", member);
    }
  } finally {
    await layer.close();
  }
});

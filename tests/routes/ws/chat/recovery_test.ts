/**
 * Nothing is lost: a server killed mid-conversation, and a client that was
 * away while others talked, both end with the full history, once, in order.
 */
import assert from "node:assert/strict";
import { guestCookie } from "../../../../support/guest.ts";
import type { ServerFrame } from "../../../../lib/chat/protocol.ts";
import type { ChatMessage } from "../../../../lib/chat/types.ts";
import { freePort } from "../../../../support/process.ts";
import { spawnServer } from "../../../_helpers/process.ts";
import { RecoveringReader } from "../../../_helpers/recovering_reader.ts";
import { startServer } from "../../../_helpers/server.ts";
import { TestClient } from "../../../_helpers/ws_client.ts";

async function history(
  origin: string,
  cookie: string,
  room: string,
): Promise<ChatMessage[]> {
  const res = await fetch(
    `${origin}/api/rooms/${room}/messages?after=0&limit=100`,
    {
      headers: { cookie },
    },
  );
  assert.equal(res.status, 200);
  return (await res.json()).messages;
}

Deno.test("server killed (SIGKILL) and restarted mid-way: every acknowledged message once, in order", async () => {
  const dir = await Deno.makeTempDir();
  const env = {
    KV_PATH: `${dir}/chat.kv`,
    PORT: String(freePort()),
    RATE_LIMIT_BURST: "100",
  };
  let server = await spawnServer(env);
  const ids = Array.from({ length: 50 }, (_, i) => `restart-${i}`);
  const acked = new Set<string>();
  const connect = async (cookie: string) =>
    await TestClient.connect(`ws://127.0.0.1:${server.port}/ws/chat/restart`, {
      cookie,
      origin: server.origin,
    });
  const track = (client: TestClient) =>
    client.socket.addEventListener("message", (e) => {
      const frame = JSON.parse(e.data) as ServerFrame;
      if (frame.type === "message") acked.add(frame.message.clientId);
    });
  try {
    const senderCookie = await guestCookie(server.origin, "Sender");
    const readerCookie = await guestCookie(server.origin, "Reader");
    const reader = new RecoveringReader();
    let readerClient = await connect(readerCookie);
    reader.attach(readerClient);
    let sender = await connect(senderCookie);
    track(sender);
    await sender.nextOf("welcome");
    await readerClient.nextOf("welcome");

    // Pipeline 30 sends; kill the server as soon as 20 are acknowledged, with the rest in flight.
    for (const id of ids.slice(0, 30)) {
      sender.send({ type: "message", text: id, clientId: id });
    }
    while (acked.size < 20) await sender.next((f) => f.type === "message");
    await server.kill("SIGKILL");
    await Promise.all([sender.closed, readerClient.closed]);
    const ackedBeforeKill = [...acked];

    server = await spawnServer(env);
    readerClient = await connect(readerCookie);
    reader.attach(readerClient);
    sender = await connect(senderCookie);
    track(sender);
    await sender.nextOf("welcome");
    // The outbox: everything not acknowledged is sent again with its clientId, then the rest.
    for (const id of ids.filter((id) => !acked.has(id))) {
      sender.send({ type: "message", text: id, clientId: id });
    }
    while (acked.size < ids.length) {
      await sender.next((f) => f.type === "message");
    }

    const stored = await history(server.origin, senderCookie, "restart");
    assert.deepEqual(
      stored.map((m) => m.clientId),
      ids,
      "each message exactly once, in send order",
    );
    assert.deepEqual(
      stored.map((m) => m.seq),
      ids.map((_, i) => i + 1),
      "gapless seq",
    );
    for (const id of ackedBeforeKill) {
      assert.ok(stored.some((m) => m.clientId === id));
    }

    await reader.whole(ids.length);
    assert.deepEqual(
      reader.timeline.messages.map((m) => m.clientId),
      ids,
      "reader: no gap, no duplicate",
    );
    await Promise.all([sender.close(), readerClient.close()]);
  } finally {
    await server.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client away while 100 messages are sent recovers all 100 on reconnect", async () => {
  // One bot posts all 100 at once: lift the per-user flood limit for it.
  const server = await startServer({ RATE_LIMIT_BURST: "200" });
  try {
    const talker = await server.guest("Talker");
    const away = await server.guest("Away");
    const opts = (cookie: string) => ({ cookie, origin: server.origin });
    const reader = new RecoveringReader();
    let readerClient = await TestClient.connect(
      server.wsUrl("offline"),
      opts(away.cookie),
    );
    reader.attach(readerClient);
    await readerClient.nextOf("welcome");
    await readerClient.close();

    // 100 messages from outside a socket (the HTTP API), as a bot would.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${server.origin}/api/rooms/offline/messages`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${talker.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ text: `m${i}`, clientId: `off-${i}` }),
      });
      assert.equal(res.status, 201);
      await res.body?.cancel();
    }

    readerClient = await TestClient.connect(
      server.wsUrl("offline"),
      opts(away.cookie),
    );
    reader.attach(readerClient);
    await reader.whole(100);
    assert.deepEqual(
      reader.timeline.messages.map((m) => m.text),
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    await readerClient.close();
  } finally {
    await server.close();
  }
});

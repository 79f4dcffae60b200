/**
 * Nothing is lost: a server killed mid-conversation, and a client that was
 * away while others talked, both end with the full history, once, in order.
 */
import assert from "node:assert/strict";
import { guestCookie } from "../../../_helpers/instances.ts";
import type {
  ChatMessage,
  ServerFrame,
} from "../../../../lib/chat/protocol.ts";
import { Timeline } from "../../../../lib/chat/timeline.ts";
import { freePort, spawnServer } from "../../../_helpers/process.ts";
import { startServer } from "../../../_helpers/server.ts";
import { TestClient } from "../../../_helpers/ws_client.ts";

/** Mirrors the island's recovery: merge by seq, ask the store for any gap. */
class RecoveringReader {
  readonly timeline = new Timeline();
  #resumeInFlight = false;
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  attach(client: TestClient): void {
    this.#resumeInFlight = false;
    const onFrame = (frame: ServerFrame) => {
      if (frame.type === "welcome") {
        this.timeline.welcome(frame.history, frame.lastSeq);
      } else if (frame.type === "message") this.timeline.add([frame.message]);
      else if (frame.type === "history" && frame.direction === "newer") {
        this.#resumeInFlight = false;
        this.timeline.addNewer(frame.messages, frame.hasMore);
      }
      if (this.timeline.hasGap && !this.#resumeInFlight) {
        this.#resumeInFlight = true;
        client.send({ type: "resume", after: this.timeline.contiguous });
      }
      this.#waiters = this.#waiters.filter((w) =>
        !(w.test() && (w.resolve(), true))
      );
    };
    // Frames that arrived with the open event are already queued on the client.
    const seen = client.frames.length;
    client.frames.slice(0, seen).forEach(onFrame);
    client.socket.addEventListener(
      "message",
      () => onFrame(client.frames[client.frames.length - 1]),
    );
  }

  /** Resolves once `count` messages are known with no gap. */
  whole(count: number): Promise<void> {
    const test = () =>
      this.timeline.messages.length >= count && !this.timeline.hasGap;
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }
}

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

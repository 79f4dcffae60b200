/**
 * `resume` right after `welcome`: answered without a store read when the
 * welcome is all the socket was told and the client holds the log up to its
 * head (what follows reaches it live); answered from the store once anything
 * else was relayed (a message, a `resync`), so a gap is always filled.
 * A real server on a free port and real WebSocket clients.
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../lib/chat/protocol.ts";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { TestClient } from "../_helpers/ws_client.ts";

type History = Extract<ServerFrame, { type: "history" }>;

function connect(server: TestServer, room: string, cookie: string) {
  return TestClient.connect(server.wsUrl(room), {
    cookie,
    origin: server.origin,
  });
}

/** Counts the store's `since` reads (what a `resume` costs). */
function countSince(server: TestServer): () => number {
  const { store } = server.services;
  const since = store.since.bind(store);
  let reads = 0;
  store.since = (...args) => {
    reads++;
    return since(...args);
  };
  return () => reads;
}

const user = { id: "guest:seed", name: "Seed", kind: "guest" } as const;

/** Stores messages 1..`count` in `room`, before anyone connects. */
async function seed(
  server: TestServer,
  room: string,
  count: number,
): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await server.services.store.append({
      room,
      user,
      text: `m${i}`,
      clientId: `seed-${i}`,
    });
  }
}

Deno.test("resume from the welcome's head with nothing relayed since costs no read; after a relayed message it reads the store and fills the gap", async () => {
  const server = await startServer();
  const open: TestClient[] = [];
  try {
    const room = "resume-welcome";
    await seed(server, room, 3);
    const reads = countSince(server);
    const ana = await connect(server, room, (await server.guest("Ana")).cookie);
    open.push(ana);
    const welcome = await ana.nextOf("welcome");
    assert.equal(welcome.lastSeq, 3);
    assert.deepEqual(welcome.history.map((m) => m.seq), [1, 2, 3]);

    ana.send({ type: "resume", after: 3 });
    const first = await ana.next<History>((f) => f.type === "history");
    assert.deepEqual(first.messages, []);
    assert.equal(first.hasMore, false);
    assert.equal(reads(), 0, "answered by the welcome");

    // Ben posts: Ana is sent it live, and from then on a resume reads the store.
    const ben = await connect(server, room, (await server.guest("Ben")).cookie);
    open.push(ben);
    await ben.nextOf("welcome");
    ben.send({ type: "message", text: "hello", clientId: "ben-1" });
    const live = await ana.next((f) => f.type === "message");
    assert.equal(live.type === "message" && live.message.seq, 4);

    // As a client that lost seq 4 would ask: the store answers with it.
    ana.send({ type: "resume", after: 3 });
    const second = await ana.next<History>((f) => f.type === "history");
    assert.deepEqual(second.messages.map((m) => m.seq), [4]);
    assert.equal(reads(), 1);
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

Deno.test("resume from before the welcome's head (a gap the welcome page does not cover) reads the store", async () => {
  const server = await startServer();
  const open: TestClient[] = [];
  try {
    const room = "resume-gap";
    await seed(server, room, 3);
    const reads = countSince(server);
    const ana = await connect(server, room, (await server.guest("Ana")).cookie);
    open.push(ana);
    await ana.nextOf("welcome");
    ana.send({ type: "resume", after: 1 });
    const page = await ana.next<History>((f) => f.type === "history");
    assert.deepEqual(page.messages.map((m) => m.seq), [2, 3]);
    assert.equal(reads(), 1);
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

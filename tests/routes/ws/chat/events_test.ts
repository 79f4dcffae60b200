/**
 * Edits, deletes, reactions and replies over the socket on a real server:
 * who may, what others see live, and what a client that was away gets back
 * from `resume`.
 */
import assert from "node:assert/strict";
import { guestCookie } from "../../../../support/guest.ts";
import { startRedis } from "../../../../support/redis.ts";
import { startWorker } from "../../../_helpers/instances.ts";
import { startServer, TEST_SECRET } from "../../../_helpers/server.ts";
import { TestClient } from "../../../_helpers/ws_client.ts";

Deno.test("socket: only the author edits or deletes; others get an error frame naming the refused frame", async () => {
  const server = await startServer();
  try {
    const ana = await server.guest("Ana");
    const ben = await server.guest("Ben");
    const opts = (g: { cookie: string }) => ({
      cookie: g.cookie,
      origin: server.origin,
    });
    const a = await TestClient.connect(server.wsUrl("ev"), opts(ana));
    const b = await TestClient.connect(server.wsUrl("ev"), opts(ben));
    await a.nextOf("welcome");
    await b.nextOf("welcome");
    a.send({ type: "message", text: "mine", clientId: "m1" });
    const { message } = await b.nextOf("message");
    await a.nextOf("message");

    b.send({
      type: "edit",
      target: message.seq,
      text: "yours now",
      clientId: "b-e",
    });
    const refused = await b.nextOf("error");
    assert.equal(refused.code, "forbidden");
    assert.equal(refused.refused, "edit");
    assert.equal(refused.clientId, "b-e");
    b.send({ type: "delete", target: message.seq, clientId: "b-d" });
    assert.equal((await b.nextOf("error")).code, "forbidden");

    // The author's edit, a reaction and a reply are seen live by the other client.
    a.send({
      type: "edit",
      target: message.seq,
      text: "mine, edited",
      clientId: "a-e",
    });
    const edit = (await b.nextOf("event")).event;
    assert.equal(
      (await a.nextOf("event")).event.seq,
      edit.seq,
      "the author sees it too",
    );
    assert.equal(edit.kind === "edit" && edit.text, "mine, edited");
    b.send({
      type: "react",
      target: message.seq,
      emoji: "👍",
      on: true,
      clientId: "b-r",
    });
    const react = (await a.nextOf("event")).event;
    assert.equal((await b.nextOf("event")).event.seq, react.seq);
    assert.deepEqual([react.kind, react.user.id], ["react", ben.user.id]);
    b.send({
      type: "message",
      text: "why?",
      clientId: "b-m",
      replyTo: message.seq,
    });
    const reply = (await a.nextOf("message")).message;
    assert.deepEqual(reply.quote, {
      state: "shown",
      user: { id: ana.user.id, name: ana.user.name },
      snippet: "mine, edited",
    });
    a.send({ type: "delete", target: message.seq, clientId: "a-d" });
    const del = (await b.nextOf("event")).event;
    assert.equal(del.kind, "delete");

    // A client that was away resumes from 0: the log has the message (erased) and every event.
    const c = await TestClient.connect(server.wsUrl("ev"), opts(ben));
    const welcome = await c.nextOf("welcome");
    assert.equal(welcome.lastSeq, del.seq);
    assert.equal(welcome.history[0].text, "");
    assert.deepEqual(welcome.history[1].quote, { state: "deleted" });
    c.send({ type: "resume", after: 0 });
    const page = await c.nextOf("history");
    assert.deepEqual(page.messages.map((m) => m.seq), [message.seq, reply.seq]);
    assert.deepEqual(page.events?.map((e) => e.kind), [
      "edit",
      "react",
      "delete",
    ]);
    assert.ok(
      !JSON.stringify(page).includes("mine"),
      "the deleted text is in no answer",
    );
    for (const client of [a, b, c]) client.socket.close();
    await Promise.all([a.closed, b.closed, c.closed]);
  } finally {
    await server.close();
  }
});

/** Two instances on one database and `layer`: an edit made on one reaches a socket on the other, live. */
async function editAcrossInstances(
  env: Record<string, string>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const shared = {
    KV_PATH: `${dir}/shared.kv`,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
    ...env,
  };
  const one = await startWorker(shared);
  const two = await startWorker(shared);
  try {
    const ana = await guestCookie(one.origin, "Ana");
    const ben = await guestCookie(two.origin, "Ben");
    const onOne = await TestClient.connect(
      `ws://127.0.0.1:${one.port}/ws/chat/x`,
      {
        cookie: ana,
        origin: one.origin,
      },
    );
    const onTwo = await TestClient.connect(
      `ws://127.0.0.1:${two.port}/ws/chat/x`,
      {
        cookie: ben,
        origin: two.origin,
      },
    );
    await Promise.all([onOne.nextOf("welcome"), onTwo.nextOf("welcome")]);
    onOne.send({ type: "message", text: "typo", clientId: "m1" });
    const { message } = await onTwo.nextOf("message");
    onOne.send({
      type: "edit",
      target: message.seq,
      text: "fixed",
      clientId: "e1",
    });
    const { event } = await onTwo.nextOf("event");
    assert.equal(event.kind === "edit" && event.text, "fixed");
    onTwo.send({
      type: "react",
      target: message.seq,
      emoji: "👍",
      on: true,
      clientId: "r1",
    });
    // onOne first sees its own edit, then the reaction from the other instance.
    assert.equal((await onOne.nextOf("event")).event.seq, event.seq);
    const react = (await onOne.nextOf("event")).event;
    assert.equal(react.kind, "react");
    for (const c of [onOne, onTwo]) c.socket.close();
    await Promise.all([onOne.closed, onTwo.closed]);
  } finally {
    await one.stop();
    await two.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("two instances (broadcast layer): an edit and a reaction on one are seen live on the other", async () => {
  await editAcrossInstances({ CHANNEL_LAYER: "broadcast" });
});

Deno.test("two instances (redis layer): an edit and a reaction on one are seen live on the other", async () => {
  const redis = await startRedis();
  try {
    await editAcrossInstances({ CHANNEL_LAYER: "redis", REDIS_URL: redis.url });
  } finally {
    await redis.stop();
  }
});

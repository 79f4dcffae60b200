/**
 * The one posting path, with a real store (KV in memory), a real layer and
 * the real budgets: who may post, the person's, the address's and the
 * room's budgets, store first, broadcast once per clientId.
 */
import { KvRoomStore } from "../../lib/store/rooms.ts";
import assert from "node:assert/strict";
import { limitsConfig } from "../../lib/config.ts";
import { createBudgets } from "../../lib/chat/budgets.ts";
import { MemoryLayer } from "../../lib/chat/layer.ts";
import {
  canPost,
  type PostDeps,
  postEvent,
  postMessage,
  PostOrder,
  type PostRequest,
} from "../../lib/chat/post.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { Metrics } from "../../lib/metrics.ts";
import { KvMessageStore } from "../../lib/store/messages.ts";

const ANA: ChatUser = { id: "u-ana", name: "Ana", kind: "guest" };
const BEN: ChatUser = { id: "u-ben", name: "Ben", kind: "guest" };
const GOOGLE_BEN: ChatUser = { id: "google:1", name: "Ben", kind: "google" };
const OPEN = { allowGuests: true };
const MEMBERS_ONLY = { allowGuests: false };

/** Services with a listener in `room`, collecting what the group receives. */
async function setUp(room: string, limits: Record<string, string> = {}) {
  const kv = await Deno.openKv(":memory:");
  const deps: PostDeps = {
    store: new KvMessageStore(kv),
    rooms: new KvRoomStore(kv),
    postOrder: new PostOrder(),
    layer: new MemoryLayer(),
    metrics: new Metrics(),
    budgets: createBudgets(limitsConfig(limits)),
  };
  const received: string[] = [];
  await deps.layer.groupAdd(room, {
    name: "specific.test!1",
    send: (frame) => received.push(frame),
  });
  return {
    deps,
    received,
    [Symbol.asyncDispose]: async () => {
      await deps.layer.close();
      kv.close();
    },
  };
}

function post(
  user: ChatUser,
  n: number,
  { room = "r", address = "192.0.2.1" } = {},
): PostRequest {
  return { room, user, address, text: `message ${n}`, clientId: `c-${n}` };
}

Deno.test("canPost: guests post only when guests are allowed; Google users always", () => {
  assert.equal(canPost(ANA, OPEN), true);
  assert.equal(canPost(ANA, MEMBERS_ONLY), false);
  assert.equal(canPost(GOOGLE_BEN, MEMBERS_ONLY), true);
});

Deno.test("postMessage stores, then broadcasts; a retried clientId is returned as a duplicate and not sent again", async () => {
  await using env = await setUp("r");
  const first = await postMessage(env.deps, post(ANA, 1), OPEN);
  assert.ok(first.ok);
  assert.equal(first.duplicate, false);
  assert.equal(first.message.seq, 1);
  assert.equal(env.received.length, 1);
  assert.equal(JSON.parse(env.received[0]).message.text, "message 1");

  const retry = await postMessage(env.deps, post(ANA, 1), OPEN);
  assert.ok(retry.ok);
  assert.equal(retry.duplicate, true);
  assert.equal(retry.message.seq, 1);
  assert.equal(env.received.length, 1, "a duplicate is not broadcast");
  assert.equal((await env.deps.store.recent("r", 10)).messages.length, 1);
});

Deno.test("postMessage refuses a guest where only signed-in users post, before spending budget or storing", async () => {
  await using env = await setUp("r", { RATE_LIMIT_BURST: "1" });
  const result = await postMessage(env.deps, post(ANA, 1), MEMBERS_ONLY);
  assert.deepEqual(result, {
    ok: false,
    code: "sign_in_required",
    message: "Sign in to chat in this room.",
  });
  assert.equal(env.deps.budgets.messages.peek(ANA.id), 0, "budget untouched");
  assert.equal(await env.deps.store.lastSeq("r"), 0);
  assert.equal(env.received.length, 0);
});

Deno.test("postMessage: the person's budget; over it rate_limited with the wait, nothing stored or sent", async () => {
  await using env = await setUp("r", {
    RATE_LIMIT_BURST: "2",
    RATE_LIMIT_PER_SECOND: "1",
  });
  assert.ok((await postMessage(env.deps, post(ANA, 1), OPEN)).ok);
  // Another address, same person: the same budget.
  const other = { address: "198.51.100.7" };
  assert.ok((await postMessage(env.deps, post(ANA, 2, other), OPEN)).ok);
  const refused = await postMessage(env.deps, post(ANA, 3), OPEN);
  assert.ok(!refused.ok);
  assert.equal(refused.code, "rate_limited");
  assert.ok(refused.retryAfter! > 0 && refused.retryAfter! <= 1_000);
  assert.equal(await env.deps.store.lastSeq("r"), 2);
  assert.equal(env.received.length, 2);
  // Someone else still posts.
  assert.ok((await postMessage(env.deps, post(BEN, 4), OPEN)).ok);
});

Deno.test("postMessage: everyone at one address shares that address's budget", async () => {
  await using env = await setUp("r", { MESSAGES_PER_IP_BURST: "2" });
  assert.ok((await postMessage(env.deps, post(ANA, 1), OPEN)).ok);
  assert.ok((await postMessage(env.deps, post(BEN, 2), OPEN)).ok);
  const third = await postMessage(env.deps, post(GOOGLE_BEN, 3), OPEN);
  assert.equal(!third.ok && third.code, "rate_limited");
  const elsewhere = { address: "198.51.100.7" };
  assert.ok(
    (await postMessage(env.deps, post(GOOGLE_BEN, 4, elsewhere), OPEN)).ok,
  );
});

Deno.test("postMessage: a room stores at most its own budget, whoever writes; a refusal there spends no one's personal budget", async () => {
  await using env = await setUp("r", {
    ROOM_MESSAGES_BURST: "2",
    RATE_LIMIT_BURST: "2",
  });
  await env.deps.layer.groupAdd("quiet", { name: "x", send: () => {} });
  const a = { address: "192.0.2.1" };
  const b = { address: "192.0.2.2" };
  assert.ok((await postMessage(env.deps, post(ANA, 1, a), OPEN)).ok);
  assert.ok((await postMessage(env.deps, post(BEN, 2, b), OPEN)).ok);
  const crowd = await postMessage(env.deps, post(GOOGLE_BEN, 3, a), OPEN);
  assert.equal(!crowd.ok && crowd.code, "rate_limited");
  assert.equal(await env.deps.store.lastSeq("r"), 2);
  // Google Ben's burst of 2 was not touched by the room's refusal: both pass elsewhere.
  const quiet = { room: "quiet", address: "192.0.2.3" };
  assert.ok((await postMessage(env.deps, post(GOOGLE_BEN, 6, quiet), OPEN)).ok);
  assert.ok((await postMessage(env.deps, post(GOOGLE_BEN, 7, quiet), OPEN)).ok);
  const third = await postMessage(env.deps, post(GOOGLE_BEN, 8, quiet), OPEN);
  assert.equal(third.ok, false, "and the burst is exactly 2");
});

Deno.test("postEvent goes through the same gate: who may post, the same budgets; stored events are broadcast once; refusals are not", async () => {
  await using env = await setUp("r", { RATE_LIMIT_BURST: "3" });
  const stored = await postMessage(env.deps, post(ANA, 1), OPEN);
  assert.ok(stored.ok);
  const target = stored.message.seq;
  const react = (user: ChatUser, clientId: string) =>
    postEvent(env.deps, {
      room: "r",
      user,
      address: "192.0.2.1",
      clientId,
      request: { type: "react", target, emoji: "👍", on: true },
    }, OPEN);
  const first = await react(ANA, "e1");
  assert.ok(first.ok);
  assert.equal(env.received.length, 2);
  assert.equal(JSON.parse(env.received[1]).type, "event");
  const again = await react(ANA, "e1");
  assert.ok(again.ok && again.duplicate);
  assert.equal(env.received.length, 2, "a retry is not broadcast again");
  // The message and two reactions spent Ana's burst of 3: the next is refused like a message.
  const limited = await react(ANA, "e2");
  assert.equal(!limited.ok && limited.code, "rate_limited");
  const members = await postEvent(env.deps, {
    room: "r",
    user: BEN,
    address: "192.0.2.2",
    clientId: "e3",
    request: { type: "delete", target },
  }, MEMBERS_ONLY);
  assert.equal(!members.ok && members.code, "sign_in_required");
  const notHis = await postEvent(env.deps, {
    room: "r",
    user: BEN,
    address: "192.0.2.2",
    clientId: "e4",
    request: { type: "delete", target },
  }, OPEN);
  assert.equal(!notHis.ok && notHis.code, "forbidden");
  assert.equal(env.received.length, 2, "refusals are not broadcast");
});

Deno.test("PostOrder: one step per key at a time, in call order, whatever finishes first; other keys do not wait", async () => {
  const order = new PostOrder();
  const log: string[] = [];
  let releaseSlow!: () => void;
  const slow = new Promise<void>((r) => (releaseSlow = r));
  const a1 = order.run("a", async () => {
    log.push("a1 start");
    await slow;
    log.push("a1 end");
    return 1;
  });
  const a2 = order.run("a", () => {
    log.push("a2 start");
    return Promise.resolve(2);
  });
  const b1 = order.run("b", () => {
    log.push("b1 start");
    return Promise.resolve(3);
  });
  assert.equal(await b1, 3);
  assert.deepEqual(log, ["a1 start", "b1 start"]);
  releaseSlow();
  assert.deepEqual(await Promise.all([a1, a2]), [1, 2]);
  assert.deepEqual(log, ["a1 start", "b1 start", "a1 end", "a2 start"]);
  // A failed step does not stop the next one; nothing is kept once settled.
  const failed = order.run("a", () => Promise.reject(new Error("boom")));
  const after = order.run("a", () => Promise.resolve("ok"));
  await assert.rejects(failed);
  assert.equal(await after, "ok");
  await Promise.resolve();
  assert.equal(order.size, 0);
});

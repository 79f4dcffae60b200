/**
 * The one posting path, with a real store (KV in memory) and a real layer:
 * who may post, the budget, store first, broadcast once per clientId.
 */
import assert from "node:assert/strict";
import { MemoryLayer } from "../../lib/chat/layer.ts";
import { canPost, type PostDeps, postMessage } from "../../lib/chat/post.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { Metrics } from "../../lib/metrics.ts";
import { KvMessageStore } from "../../lib/store/messages.ts";

const ANA: ChatUser = { id: "u-ana", name: "Ana", kind: "guest" };
const GOOGLE_BEN: ChatUser = { id: "google:1", name: "Ben", kind: "google" };
const OPEN = { allowGuests: true };
const MEMBERS_ONLY = { allowGuests: false };

/** Services with a listener in `room`, collecting what the group receives. */
async function setUp(room: string) {
  const kv = await Deno.openKv(":memory:");
  const deps: PostDeps = {
    store: new KvMessageStore(kv),
    layer: new MemoryLayer(),
    metrics: new Metrics(),
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

Deno.test("canPost: guests post only when guests are allowed; Google users always", () => {
  assert.equal(canPost(ANA, OPEN), true);
  assert.equal(canPost(ANA, MEMBERS_ONLY), false);
  assert.equal(canPost(GOOGLE_BEN, MEMBERS_ONLY), true);
});

Deno.test("postMessage stores, then broadcasts; a retried clientId is returned as a duplicate and not sent again", async () => {
  await using env = await setUp("r");
  const request = { room: "r", user: ANA, text: "hello", clientId: "c-1" };
  const first = await postMessage(env.deps, request, OPEN, () => 0);
  assert.ok(first.ok);
  assert.equal(first.duplicate, false);
  assert.equal(first.message.seq, 1);
  assert.equal(env.received.length, 1);
  assert.equal(JSON.parse(env.received[0]).message.text, "hello");

  const retry = await postMessage(env.deps, request, OPEN, () => 0);
  assert.ok(retry.ok);
  assert.equal(retry.duplicate, true);
  assert.equal(retry.message.seq, 1);
  assert.equal(env.received.length, 1, "a duplicate is not broadcast");
  assert.equal((await env.deps.store.recent("r", 10)).messages.length, 1);
});

Deno.test("postMessage refuses a guest where only signed-in users post, before spending budget or storing", async () => {
  await using env = await setUp("r");
  let budgetTaken = 0;
  const result = await postMessage(
    env.deps,
    { room: "r", user: ANA, text: "hi", clientId: "c-1" },
    MEMBERS_ONLY,
    () => (budgetTaken++, 0),
  );
  assert.deepEqual(result, {
    ok: false,
    code: "sign_in_required",
    message: "Sign in to chat in this room.",
  });
  assert.equal(budgetTaken, 0);
  assert.equal(await env.deps.store.lastSeq("r"), 0);
  assert.equal(env.received.length, 0);
});

Deno.test("postMessage over budget is rate_limited with the wait, and nothing is stored or sent", async () => {
  await using env = await setUp("r");
  const result = await postMessage(
    env.deps,
    { room: "r", user: ANA, text: "hi", clientId: "c-1" },
    OPEN,
    () => 1_500,
  );
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.code, "rate_limited");
  assert.equal(result.retryAfter, 1_500);
  assert.equal(await env.deps.store.lastSeq("r"), 0);
  assert.equal(env.received.length, 0);
});

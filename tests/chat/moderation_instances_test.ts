/**
 * Kicks and bans hold on every instance at once: a moderator on instance A
 * removes someone whose sockets are on instance B, and B closes them (4003,
 * 4004) within a second — with the redis layer (two servers, one Redis,
 * one KV file) and with the broadcast layer (two workers of one process).
 * Settings changed on A bind posting on B at once (the store is read per post).
 */
import assert from "node:assert/strict";
import { CloseCode } from "../../lib/shared.ts";
import { startRedis } from "../../support/redis.ts";
import { signInGuest } from "../../support/guest.ts";
import { startWorker } from "../_helpers/instances.ts";
import { call, closedWith, googleUser, join } from "../_helpers/people.ts";
import { startServer, TEST_SECRET } from "../_helpers/server.ts";

/** The bound the issue sets: a kicked person's sockets close on every instance within this. */
const KICK_BOUND_MS = 1_000;

/** Two instances of the app sharing a layer and a KV file, reachable at `a` and `b`. */
interface Pair {
  a: string;
  b: string;
}

async function kickAndBanAcross({ a, b }: Pair, room: string) {
  const owen = await googleUser("owen", "Owen");
  const owenWs = await join(a, room, owen);
  await owenWs.nextOf("standing");
  const gus = await signInGuest(a, "Gus");
  const onB = [await join(b, room, gus), await join(b, room, gus)];
  const onA = await join(a, room, gus);

  const started = performance.now();
  const kicked = await call(a, "POST", `/api/rooms/${room}/moderation`, owen, {
    action: "kick",
    user: gus.user,
  });
  assert.equal(kicked.status, 201);
  const codes = await Promise.all([...onB, onA].map((ws) => ws.closed));
  const elapsed = performance.now() - started;
  assert.deepEqual(codes.map((e) => e.code), [
    CloseCode.kicked,
    CloseCode.kicked,
    CloseCode.kicked,
  ]);
  assert.ok(elapsed < KICK_BOUND_MS, `closed after ${elapsed.toFixed(0)} ms`);

  // Settings changed on A hold on B at the next post.
  await call(a, "PUT", `/api/rooms/${room}/settings`, owen, {
    postPolicy: "signed_in",
  });
  const back = await join(b, room, gus);
  back.send({ type: "message", text: "hi", clientId: "g1" });
  const refused = await back.next((f) => f.type === "error");
  assert.equal(refused.type === "error" && refused.code, "sign_in_required");

  const banStarted = performance.now();
  const banned = await call(a, "POST", `/api/rooms/${room}/moderation`, owen, {
    action: "ban",
    user: gus.user,
  });
  assert.equal(banned.status, 201);
  assert.equal((await back.closed).code, CloseCode.banned);
  assert.ok(performance.now() - banStarted < KICK_BOUND_MS);
  assert.equal(await closedWith(b, room, gus), CloseCode.banned);
  assert.equal(await closedWith(a, room, gus), CloseCode.banned);
  await owenWs.close();
}

Deno.test("moderation across instances (redis): a kick and a ban close the person's sockets on the other instance within a second", async () => {
  const redis = await startRedis();
  const dir = await Deno.makeTempDir({ prefix: "roomcast-mod-redis-" });
  const env = {
    CHANNEL_LAYER: "redis",
    REDIS_URL: redis.url,
    KV_PATH: `${dir}/shared.kv`,
  };
  const one = await startServer(env);
  const two = await startServer(env);
  try {
    await kickAndBanAcross({ a: one.origin, b: two.origin }, "across");
  } finally {
    await one.close();
    await two.close();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("moderation across instances (broadcast): a kick and a ban close the person's sockets on the other worker within a second", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-mod-bc-" });
  const env = {
    CHANNEL_LAYER: "broadcast",
    KV_PATH: `${dir}/shared.kv`,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
  };
  const one = await startWorker(env);
  const two = await startWorker(env);
  try {
    await kickAndBanAcross({ a: one.origin, b: two.origin }, "across");
  } finally {
    await one.stop();
    await two.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

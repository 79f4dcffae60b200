/**
 * The `redis` group layer against a real redis-server on 127.0.0.1 (started
 * by support/redis.ts on a free port). Two `RedisLayer`s in this
 * process stand for two app processes; a third plain client inspects what
 * Redis sees (`PUBSUB CHANNELS`). Every wait is for a delivery, a frame or a
 * log event, each with a timeout.
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import type { ChatEvent } from "../../lib/chat/layer.ts";
import { encodeServerFrame } from "../../lib/chat/protocol.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";
import {
  RedisLayer,
  type RedisLayerOptions,
} from "../../lib/chat/redis_layer.ts";
import { withTimeout } from "../../lib/async.ts";
import type { LogFields, Logger } from "../../lib/log.ts";
import { freePort } from "../../support/process.ts";
import { startRedis, type TestRedis } from "../../support/redis.ts";
import { startServer } from "../_helpers/server.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { Recorder } from "../_helpers/recorder.ts";
import { Signal } from "../../support/wait.ts";

const RESYNC = encodeServerFrame({ type: "resync" });

/** A Logger that records every line and lets a test await an event. */
class LogTap implements Logger {
  readonly lines: { level: string; event: string; fields?: LogFields }[] = [];
  readonly #signal = new Signal();

  #write(level: string, event: string, fields?: LogFields): void {
    this.lines.push({ level, event, fields });
    this.#signal.notify();
  }
  debug = (event: string, fields?: LogFields) =>
    this.#write("debug", event, fields);
  info = (event: string, fields?: LogFields) =>
    this.#write("info", event, fields);
  warn = (event: string, fields?: LogFields) =>
    this.#write("warn", event, fields);
  error = (event: string, fields?: LogFields) =>
    this.#write("error", event, fields);

  count(event: string): number {
    return this.lines.filter((l) => l.event === event).length;
  }

  /** Resolves once `event` has been logged `count` times in total. */
  logged(event: string, count = 1): Promise<void> {
    return this.#signal.until(
      () => this.count(event) >= count,
      () => `log: ${this.count(event)}/${count} × ${event}`,
    );
  }
}

let seqCounter = 0;
function message(text: string): ChatMessage {
  return {
    id: crypto.randomUUID(),
    seq: ++seqCounter,
    room: "room",
    user: { id: "u1", name: "Ana", kind: "guest" },
    text,
    ts: 1_700_000_000_000,
    clientId: `c-${seqCounter}`,
  };
}

const event = (text: string): ChatEvent => ({
  type: "message",
  message: message(text),
});

/** Asks Redis (through a separate connection) which channels under `prefix` have subscribers. */
async function pubsubChannels(url: string, prefix: string): Promise<string[]> {
  const client = createClient({ url, maintNotifications: "disabled" });
  client.on("error", () => {/* reported by the command */});
  await client.connect();
  try {
    return (await client.pubSubChannels(`${prefix}*`)).sort();
  } finally {
    await client.close();
  }
}

interface Setup {
  redis: TestRedis;
  prefix: string;
  layers: RedisLayer[];
  logs: LogTap[];
}

/**
 * Starts a redis-server and `count` layers (one LogTap each) on one fresh
 * prefix, runs `body`, then closes everything, even when it fails.
 */
function withLayers(
  count: number,
  body: (s: Setup) => Promise<void>,
  options: RedisLayerOptions = {},
): () => Promise<void> {
  return async () => {
    const redis = await startRedis();
    const prefix = `test:${crypto.randomUUID()}:`;
    const layers: RedisLayer[] = [];
    const logs: LogTap[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const log = new LogTap();
        logs.push(log);
        layers.push(
          await RedisLayer.connect(redis.url, {
            prefix,
            log,
            reconnectBaseMs: 20,
            reconnectMaxMs: 200,
            ...options,
          }),
        );
      }
      await body({ redis, prefix, layers, logs });
    } finally {
      for (const layer of layers) await layer.close();
      await redis.stop();
    }
  };
}

Deno.test(
  "redis layer: two instances in one room deliver both ways, and not to other groups",
  withLayers(2, async ({ layers: [a, b] }) => {
    const a1 = new Recorder("room@a1"), a2 = new Recorder("room@a2");
    const b1 = new Recorder("room@b1");
    const otherA = new Recorder("other@a"), otherB = new Recorder("other@b");
    await a.groupAdd("room", a1);
    await a.groupAdd("room", a2);
    await b.groupAdd("room", b1);
    await a.groupAdd("other", otherA);
    await b.groupAdd("other", otherB);
    assert.equal(a.localMembers("room"), 2);
    assert.equal(a.localGroups(), 2);
    assert.equal(a.subscribedGroups(), 2);

    await a.groupSend("room", event("from a"));
    await Promise.all([a1.received(1), a2.received(1), b1.received(1)]);
    await b.groupSend("room", event("from b"));
    await Promise.all([a1.received(2), a2.received(2), b1.received(2)]);
    for (const r of [a1, a2, b1]) {
      assert.deepEqual(r.texts(), ["from a", "from b"]);
    }

    // A marker to `other` after the room's sends: anything misrouted from
    // `room` would have arrived before it.
    await b.groupSend("other", event("marker"));
    await Promise.all([otherA.received(1), otherB.received(1)]);
    assert.deepEqual(otherA.texts(), ["marker"]);
    assert.deepEqual(otherB.texts(), ["marker"]);
    for (const r of [a1, a2, b1]) {
      assert.deepEqual(r.texts(), ["from a", "from b"]);
    }
  }),
);

Deno.test(
  "redis layer: one serialization, the identical string for every member, no echo to the sender's members",
  withLayers(2, async ({ layers: [a, b] }) => {
    const local = [new Recorder("l1@a"), new Recorder("l2@a")];
    const remote = [new Recorder("r1@b"), new Recorder("r2@b")];
    for (const r of local) await a.groupAdd("room", r);
    for (const r of remote) await b.groupAdd("room", r);

    const plain = message("once");
    let serializations = 0;
    const counted = {
      ...plain,
      toJSON() {
        serializations++;
        return plain;
      },
    };
    await a.groupSend("room", { type: "message", message: counted });
    await Promise.all([...local, ...remote].map((r) => r.received(1)));
    assert.equal(serializations, 1);
    const frames = [...local, ...remote].map((r) => r.frames[0]);
    for (const frame of frames) assert.equal(frame, frames[0]);
    assert.deepEqual(JSON.parse(frames[0]), {
      type: "message",
      message: plain,
    });
    // Within one instance it is the very same string, not an equal copy:
    // `a`'s members share the sender's frame, `b`'s the one received.
    assert.ok(Object.is(local[0].frames[0], local[1].frames[0]));
    assert.ok(Object.is(remote[0].frames[0], remote[1].frames[0]));

    // `a`'s own publish comes back on its subscription before `b`'s marker
    // (Redis keeps order on a connection): once the marker is in, an echo
    // would have been delivered.
    await b.groupSend("room", event("marker"));
    await Promise.all(local.map((r) => r.received(2)));
    for (const r of local) assert.deepEqual(r.texts(), ["once", "marker"]);
    for (const r of remote) assert.deepEqual(r.texts(), ["once", "marker"]);
  }),
);

Deno.test(
  "redis layer: discard stops delivery; the last discard unsubscribes; a later add subscribes again",
  withLayers(2, async ({ redis, prefix, layers: [a, b] }) => {
    const leaving = new Recorder("leaving@a"), staying = new Recorder("s@a");
    const remote = new Recorder("remote@b");
    await a.groupAdd("room", leaving);
    await a.groupAdd("room", staying);
    await b.groupAdd("room", remote);
    assert.deepEqual(await pubsubChannels(redis.url, prefix), [
      `${prefix}room`,
    ]);

    await a.groupDiscard("room", leaving);
    await a.groupDiscard("room", leaving); // idempotent
    await a.groupDiscard("nowhere", leaving);
    assert.equal(a.localMembers("room"), 1);
    await b.groupSend("room", event("after leave"));
    await Promise.all([staying.received(1), remote.received(1)]);
    assert.deepEqual(leaving.texts(), []);

    await a.groupDiscard("room", staying);
    await b.groupDiscard("room", remote);
    assert.equal(a.localGroups(), 0);
    assert.equal(a.subscribedGroups(), 0);
    assert.equal(b.subscribedGroups(), 0);
    assert.deepEqual(await pubsubChannels(redis.url, prefix), []);

    const again = new Recorder("again@a");
    await a.groupAdd("room", again);
    assert.deepEqual(await pubsubChannels(redis.url, prefix), [
      `${prefix}room`,
    ]);
    // Sent from an instance without members: it still publishes.
    assert.equal(b.localMembers("room"), 0);
    await b.groupSend("room", event("welcome back"));
    await again.received(1);
    assert.deepEqual(again.texts(), ["welcome back"]);
    assert.equal(b.subscribedGroups(), 0);
  }),
);

Deno.test(
  "redis layer: a message published right after groupAdd resolves is received",
  withLayers(2, async ({ layers: [a, b] }) => {
    for (let i = 0; i < 20; i++) {
      const member = new Recorder(`m${i}@a`);
      await a.groupAdd(`g${i}`, member);
      await b.groupSend(`g${i}`, event(`hi ${i}`));
      await member.received(1);
      assert.deepEqual(member.texts(), [`hi ${i}`]);
      await a.groupDiscard(`g${i}`, member);
    }
  }),
);

Deno.test(
  "redis layer: concurrent adds and discards neither leak nor double-subscribe",
  withLayers(2, async ({ redis, prefix, layers: [a, b] }) => {
    const members = Array.from({ length: 8 }, (_, i) => new Recorder(`m${i}`));
    // Everyone joins and leaves at once, several rounds, without waiting in between.
    for (let round = 0; round < 5; round++) {
      const ops: Promise<void>[] = [];
      for (const m of members) {
        ops.push(a.groupAdd("room", m));
        ops.push(a.groupDiscard("room", m));
      }
      await Promise.all(ops);
    }
    assert.equal(a.localMembers("room"), 0);
    assert.equal(a.subscribedGroups(), 0);
    assert.deepEqual(await pubsubChannels(redis.url, prefix), []);

    // Interleaved so that half of them end up members.
    const ops: Promise<void>[] = [];
    members.forEach((m, i) => {
      ops.push(a.groupAdd("room", m));
      if (i % 2 === 1) ops.push(a.groupDiscard("room", m));
    });
    await Promise.all(ops);
    assert.equal(a.localMembers("room"), 4);
    assert.equal(a.subscribedGroups(), 1);
    assert.deepEqual(await pubsubChannels(redis.url, prefix), [
      `${prefix}room`,
    ]);
    // Subscribed once: each member gets each event exactly once.
    await b.groupSend("room", event("one"));
    await b.groupSend("room", event("two"));
    const stayed = members.filter((_, i) => i % 2 === 0);
    await Promise.all(stayed.map((m) => m.received(2)));
    for (const m of stayed) assert.deepEqual(m.texts(), ["one", "two"]);
    for (const m of members.filter((_, i) => i % 2 === 1)) {
      assert.deepEqual(m.texts(), []);
    }
  }),
);

Deno.test(
  "redis layer: close() releases both connections and is idempotent",
  async () => {
    const redis = await startRedis();
    try {
      const prefix = `test:${crypto.randomUUID()}:`;
      const layer = await RedisLayer.connect(redis.url, {
        prefix,
        log: new LogTap(),
      });
      await layer.groupAdd("room", new Recorder("m"));
      assert.deepEqual(await pubsubChannels(redis.url, prefix), [
        `${prefix}room`,
      ]);
      await Promise.all([layer.close(), layer.close()]);
      await layer.close();
      assert.equal(layer.localGroups(), 0);
      assert.deepEqual(await pubsubChannels(redis.url, prefix), []);
      // After close: sends are dropped quietly, joins are refused.
      await layer.groupSend("room", event("late"));
      await assert.rejects(layer.groupAdd("room", new Recorder("late")));
    } finally {
      await redis.stop();
    }
  },
);

Deno.test(
  "redis layer: connect rejects when Redis is unreachable",
  async () => {
    const port = freePort(); // nothing listens there
    await assert.rejects(
      RedisLayer.connect(`redis://127.0.0.1:${port}`, {
        log: new LogTap(),
        connectTimeoutMs: 300,
        reconnectBaseMs: 20,
        reconnectMaxMs: 80,
      }),
      /cannot connect to Redis/,
    );
  },
);

Deno.test(
  "redis layer: survives a Redis restart (resync, delivery again, no throw or hang while down)",
  withLayers(
    2,
    async ({ redis, prefix, layers: [a, b], logs: [logA, logB] }) => {
      const onA = new Recorder("room@a"), onB = new Recorder("room@b");
      const quietA = new Recorder("quiet@a");
      await a.groupAdd("room", onA);
      await b.groupAdd("room", onB);
      await a.groupAdd("quiet", quietA);
      await a.groupSend("room", event("before"));
      await onB.received(1);

      await redis.kill();
      await Promise.all([
        logA.logged("redis.disconnected"),
        logB.logged("redis.disconnected"),
      ]);

      // (c) A send during the outage resolves promptly; local members still get it.
      await withTimeout(
        a.groupSend("room", event("secret text during outage")),
        1_000,
        "groupSend during the outage",
      );
      await onA.received(2);
      await logA.logged("redis.publish_dropped");
      // A join during the outage waits for Redis (within its timeout).
      const late = new Recorder("late@b");
      const lateJoin = b.groupAdd("late", late);

      await redis.restart();

      // (a) Every local member of every subscribed group is told to resync.
      await Promise.all([onA.got(RESYNC), onB.got(RESYNC), quietA.got(RESYNC)]);
      await lateJoin;
      assert.equal(b.localMembers("late"), 1);
      // node-redis re-subscribed on its own (the layer only re-issues a
      // SUBSCRIBE it did not see confirmed), and the queued join went through.
      assert.deepEqual(await pubsubChannels(redis.url, prefix), [
        `${prefix}late`,
        `${prefix}quiet`,
        `${prefix}room`,
      ]);

      // (b) Delivery between the instances works again, both ways.
      const fromA = event("after from a"), fromB = event("after from b");
      await a.groupSend("room", fromA);
      await onB.got(encodeServerFrame(fromA));
      await b.groupSend("room", fromB);
      await onA.got(encodeServerFrame(fromB));
      await a.groupSend("late", event("for the late joiner"));
      await late.received(1);
      assert.deepEqual(late.texts(), ["for the late joiner"]);
      assert.ok(!onB.texts().includes("secret text during outage"));
      assert.deepEqual(
        onA.texts().filter((t) => !t.startsWith("<")),
        ["before", "secret text during outage", "after from a", "after from b"],
      );

      // Logs carry identifiers, never message text.
      for (const line of [...logA.lines, ...logB.lines]) {
        assert.ok(!JSON.stringify(line).includes("secret text"));
      }
    },
  ),
);

Deno.test(
  "redis layer: after a publisher-only outage, the other instances' members are told to resync",
  withLayers(2, async ({ redis, layers: [a, b], logs: [logA, logB] }) => {
    const onA = new Recorder("room@a"), onB = new Recorder("room@b");
    await a.groupAdd("room", onA);
    await b.groupAdd("room", onB);
    const admin = createClient({
      url: redis.url,
      maintNotifications: "disabled",
    });
    admin.on("error", () => {/* reported by the commands */});
    await admin.connect();
    try {
      // New connections cannot authenticate, and the command connections
      // (the publishers) are dropped; subscriber connections stay up.
      await admin.configSet("requirepass", "hold-off");
      await admin.sendCommand([
        "CLIENT",
        "KILL",
        "TYPE",
        "normal",
        "SKIPME",
        "yes",
      ]);
      await Promise.all([
        logA.logged("redis.disconnected"),
        logB.logged("redis.disconnected"),
      ]);
      await withTimeout(
        a.groupSend("room", event("lost on the bus")),
        1_000,
        "groupSend while the publisher is down",
      );
      await logA.logged("redis.publish_dropped");
      await admin.configSet("requirepass", "");
      await Promise.all([
        logA.logged("redis.reconnected"),
        logB.logged("redis.reconnected"),
      ]);
      // `b` never lost its subscription, so this resync is the one `a`
      // published for the group whose publish it dropped.
      await onB.got(RESYNC);
      assert.deepEqual(onB.texts(), ["<resync>"]);
      // `a`'s own members missed nothing and get no resync.
      const marker = event("marker");
      await b.groupSend("room", marker);
      await onA.got(encodeServerFrame(marker));
      assert.deepEqual(onA.texts(), ["lost on the bus", "marker"]);
    } finally {
      await admin.close();
    }
  }),
);

Deno.test(
  "redis layer: a join that times out during an outage leaves no member and no subscription",
  withLayers(1, async ({ redis, prefix, layers: [a], logs: [log] }) => {
    await redis.kill();
    await log.logged("redis.disconnected");
    const member = new Recorder("m@a");
    await assert.rejects(a.groupAdd("room", member), /timed out/);
    assert.equal(a.localMembers("room"), 0);
    await redis.restart();
    await log.logged("redis.reconnected");
    // Subscription changes are serialized per group: once this add and
    // discard are done, the SUBSCRIBE queued during the outage and its undo
    // have run too.
    const probe = new Recorder("probe@a");
    await a.groupAdd("room", probe);
    await a.groupDiscard("room", probe);
    assert.equal(a.subscribedGroups(), 0);
    assert.deepEqual(await pubsubChannels(redis.url, prefix), []);
    assert.deepEqual(member.texts(), []);
  }, { subscribeTimeoutMs: 300 }),
);

Deno.test(
  "redis layer: clients on two app servers in one room talk both ways",
  async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir();
    const env = {
      CHANNEL_LAYER: "redis",
      REDIS_URL: redis.url,
      KV_PATH: `${dir}/shared.kv`,
    };
    try {
      const one = await startServer(env);
      try {
        const two = await startServer(env);
        try {
          const ana = await one.guest("Ana");
          const ben = await two.guest("Ben");
          const onOne = await TestClient.connect(one.wsUrl("lobby"), {
            cookie: ana.cookie,
            origin: one.origin,
          });
          const onTwo = await TestClient.connect(two.wsUrl("lobby"), {
            cookie: ben.cookie,
            origin: two.origin,
          });
          try {
            await Promise.all([
              onOne.nextOf("welcome"),
              onTwo.nextOf("welcome"),
            ]);

            onOne.send({ type: "message", text: "from one", clientId: "s1" });
            const atTwo = await onTwo.nextOf("message");
            assert.equal(atTwo.message.text, "from one");
            assert.equal(atTwo.message.user.name, "Ana");

            onTwo.send({ type: "message", text: "from two", clientId: "s2" });
            const atOne = await onOne.next((f) =>
              f.type === "message" && f.message.text === "from two"
            );
            assert.equal(atOne.type, "message");
            // One KV file behind both servers: one sequence for the room.
            if (atOne.type === "message") assert.equal(atOne.message.seq, 2);
            // The sender got its own message once, from its own server.
            const own = onOne.frames.filter((f) =>
              f.type === "message" && f.message.text === "from one"
            );
            assert.equal(own.length, 1);
          } finally {
            await Promise.all([onOne.close(), onTwo.close()]);
          }
        } finally {
          await two.close();
        }
      } finally {
        await one.close();
      }
    } finally {
      await redis.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

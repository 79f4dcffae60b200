/**
 * The group-layer contract, run against every backend that works in one
 * process. Each test gets instances that represent separate instances of the
 * app: for `memory` they are one object (it has no bus); for `broadcast` they
 * are separate layers on one fresh channel prefix, talking through
 * BroadcastChannel; for `kv` they are separate layers watching one KV database
 * (one shared `:memory:` handle, or each its own handle on one file).
 */
import assert from "node:assert/strict";
import {
  type ChannelLayer,
  type ChatEvent,
  MemoryLayer,
} from "../../lib/chat/layer.ts";
import { BroadcastLayer } from "../../lib/chat/broadcast_layer.ts";
import { RedisLayer } from "../../lib/chat/redis_layer.ts";
import { KvLayer } from "../../lib/chat/kv_layer.ts";
import { quietLogger } from "../../lib/log.ts";
import { startRedis } from "../../support/redis.ts";
import { event, message, Recorder } from "../_helpers/recorder.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";

/**
 * An event that counts how often it is serialized: JSON.stringify calls
 * `toJSON` once per serialization of the frame.
 */
function countingEvent(
  text: string,
): { event: ChatEvent; plain: ChatMessage; serializations: () => number } {
  const plain = message(text);
  let count = 0;
  const counted = {
    ...plain,
    toJSON() {
      count++;
      return plain;
    },
  };
  return {
    event: { type: "message", message: counted },
    plain,
    serializations: () => count,
  };
}

/**
 * Every BroadcastChannel this module opens, so tests can see that layers
 * release their subscriptions (Deno's sanitizers do not track them).
 */
const openBuses = new Set<BroadcastChannel>();
const NativeBroadcastChannel = globalThis.BroadcastChannel;
class TrackedBroadcastChannel extends NativeBroadcastChannel {
  constructor(name: string) {
    super(name);
    openBuses.add(this);
  }
  override close(): void {
    openBuses.delete(this);
    super.close();
  }
}
globalThis.BroadcastChannel = TrackedBroadcastChannel;

interface Instances {
  layers: ChannelLayer[];
  /** Subscriptions (BroadcastChannels, connections…) the instances hold open. */
  openSubscriptions(): number;
  /** Releases what the backend needs besides the layers (a redis-server). */
  dispose?(): Promise<void>;
}

interface Backend {
  kind: string;
  /**
   * Instances of the app for one test. `shared` backends return one object
   * several times (a single-process layer has no other instance).
   */
  create(count: number): Promise<Instances>;
  shared: boolean;
}

const backends: Backend[] = [
  {
    kind: "memory",
    shared: true,
    create(count) {
      const layer = new MemoryLayer();
      return Promise.resolve({
        layers: Array.from({ length: count }, () => layer),
        openSubscriptions: () => 0,
      });
    },
  },
  {
    kind: "broadcast",
    shared: false,
    create(count) {
      const prefix = `test:${crypto.randomUUID()}:`;
      return Promise.resolve({
        layers: Array.from(
          { length: count },
          () => new BroadcastLayer({ prefix }),
        ),
        openSubscriptions: () =>
          [...openBuses].filter((bus) => bus.name.startsWith(prefix)).length,
      });
    },
  },
  {
    kind: "redis",
    shared: false,
    async create(count) {
      const redis = await startRedis();
      const prefix = `test:${crypto.randomUUID()}:`;
      const layers: RedisLayer[] = [];
      try {
        for (let i = 0; i < count; i++) {
          layers.push(
            await RedisLayer.connect(redis.url, { prefix, log: quietLogger }),
          );
        }
      } catch (err) {
        for (const layer of layers) await layer.close();
        await redis.stop();
        throw err;
      }
      return {
        layers,
        openSubscriptions: () =>
          layers.reduce((n, layer) => n + layer.subscribedGroups(), 0),
        dispose: () => redis.stop(),
      };
    },
  },
  {
    kind: "kv (:memory:)",
    shared: false,
    async create(count) {
      const kv = await Deno.openKv(":memory:");
      const layers = Array.from(
        { length: count },
        () => new KvLayer(kv, { log: quietLogger }),
      );
      return {
        layers,
        openSubscriptions: () =>
          layers.reduce((n, layer) => n + layer.watchedGroups(), 0),
        dispose: () => Promise.resolve(kv.close()),
      };
    },
  },
  {
    kind: "kv (file)",
    shared: false,
    async create(count) {
      const dir = await Deno.makeTempDir();
      const layers: KvLayer[] = [];
      for (let i = 0; i < count; i++) {
        layers.push(
          await KvLayer.open(`${dir}/layer.kv`, { log: quietLogger }),
        );
      }
      return {
        layers,
        openSubscriptions: () =>
          layers.reduce((n, layer) => n + layer.watchedGroups(), 0),
        dispose: () => Deno.remove(dir, { recursive: true }),
      };
    },
  },
];

/**
 * Runs `body` with fresh instances, closes every one of them afterwards and
 * checks nothing was left subscribed.
 */
function withLayers(
  backend: Backend,
  count: number,
  body: (layers: ChannelLayer[], instances: Instances) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const instances = await backend.create(count);
    try {
      await body(instances.layers, instances);
    } finally {
      for (const layer of new Set(instances.layers)) await layer.close();
      await instances.dispose?.();
    }
    assert.equal(instances.openSubscriptions(), 0, "subscriptions left open");
  };
}

function layerContract(backend: Backend): void {
  const t = (
    name: string,
    count: number,
    body: (l: ChannelLayer[], i: Instances) => Promise<void>,
  ) =>
    Deno.test(
      `${backend.kind} layer: ${name}`,
      withLayers(backend, count, body),
    );

  t(
    "groupSend reaches every member of the group on every instance, and no other group",
    2,
    async ([a, b]) => {
      const roomA = new Recorder("room@a"), roomB = new Recorder("room@b");
      const otherA = new Recorder("other@a"), otherB = new Recorder("other@b");
      await a.groupAdd("room", roomA);
      await b.groupAdd("room", roomB);
      await a.groupAdd("other", otherA);
      await b.groupAdd("other", otherB);

      await a.groupSend("room", event("from a"));
      await Promise.all([roomA.received(1), roomB.received(1)]);
      await b.groupSend("room", event("from b"));
      await Promise.all([roomA.received(2), roomB.received(2)]);
      assert.deepEqual(roomA.texts(), ["from a", "from b"]);
      assert.deepEqual(roomB.texts(), ["from a", "from b"]);

      // A marker sent to `other` after the room's sends: when it has arrived,
      // anything misrouted from `room` would have arrived before it.
      await a.groupSend("other", event("marker"));
      await Promise.all([otherA.received(1), otherB.received(1)]);
      assert.deepEqual(otherA.texts(), ["marker"]);
      assert.deepEqual(otherB.texts(), ["marker"]);
      assert.deepEqual(roomA.texts(), ["from a", "from b"]);
      assert.deepEqual(roomB.texts(), ["from a", "from b"]);
    },
  );

  t(
    "a channel in several groups gets each group's events once",
    2,
    async ([a, b]) => {
      const both = new Recorder("both@a");
      const probe = new Recorder("probe@a");
      await a.groupAdd("g1", both);
      await a.groupAdd("g2", both);
      await a.groupAdd("g2", probe);
      // Adding the same channel twice does not make it a member twice.
      await a.groupAdd("g1", both);
      assert.equal(a.localMembers("g1"), 1);
      await b.groupSend("g1", event("one"));
      await both.received(1);
      await b.groupSend("g2", event("two"));
      await Promise.all([both.received(2), probe.received(1)]);
      assert.deepEqual(both.texts(), ["one", "two"]);
      assert.deepEqual(probe.texts(), ["two"]);
    },
  );

  t(
    "groupDiscard stops delivery to that channel only, and is idempotent",
    2,
    async ([a, b]) => {
      const leaving = new Recorder("leaving@a");
      const staying = new Recorder("staying@a");
      const remote = new Recorder("remote@b");
      await a.groupAdd("room", leaving);
      await a.groupAdd("room", staying);
      await b.groupAdd("room", remote);
      await b.groupSend("room", event("before"));
      await Promise.all([
        leaving.received(1),
        staying.received(1),
        remote.received(1),
      ]);

      await a.groupDiscard("room", leaving);
      await a.groupDiscard("room", leaving);
      // Discarding what was never added, or from an unknown group, is harmless.
      await a.groupDiscard("room", new Recorder("stranger"));
      await a.groupDiscard("no-such-group", leaving);
      assert.equal(a.localMembers("room"), backend.shared ? 2 : 1);

      await b.groupSend("room", event("after"));
      // `staying` is on the same instance as `leaving`: once it has the event,
      // `leaving` would have it too if it were still a member.
      await Promise.all([staying.received(2), remote.received(2)]);
      assert.deepEqual(staying.texts(), ["before", "after"]);
      assert.deepEqual(leaving.texts(), ["before"]);
    },
  );

  t(
    "a group's last discard unsubscribes; a later add subscribes again",
    2,
    async ([a, b], instances) => {
      const expectOpen = (n: number) =>
        assert.equal(instances.openSubscriptions(), backend.shared ? 0 : n);
      const m1 = new Recorder("m1@a"), m2 = new Recorder("m2@a");
      const other = new Recorder("other@a");
      await a.groupAdd("room", m1);
      await a.groupAdd("room", m2);
      await a.groupAdd("other", other);
      assert.equal(a.localGroups(), 2);
      assert.equal(a.localMembers("room"), 2);
      expectOpen(2);

      await a.groupDiscard("room", m1);
      assert.equal(a.localGroups(), 2);
      assert.equal(a.localMembers("room"), 1);
      expectOpen(2);
      await a.groupDiscard("room", m2);
      assert.equal(a.localGroups(), 1);
      assert.equal(a.localMembers("room"), 0);
      expectOpen(1);
      await a.groupDiscard("other", other);
      assert.equal(a.localGroups(), 0);
      assert.equal(a.localMembers("other"), 0);
      expectOpen(0);

      // Rejoining after the group emptied works: the subscription is re-made.
      const again = new Recorder("again@a");
      await a.groupAdd("room", again);
      assert.equal(a.localGroups(), 1);
      expectOpen(1);
      await b.groupSend("room", event("welcome back"));
      await again.received(1);
      assert.deepEqual(again.texts(), ["welcome back"]);
      assert.deepEqual(m1.texts(), []);
      assert.deepEqual(m2.texts(), []);
      await a.groupDiscard("room", again);
      assert.equal(a.localGroups(), 0);
      expectOpen(0);
    },
  );

  t(
    "an event is serialized once and every member gets the identical frame",
    2,
    async ([a, b]) => {
      const local = [
        new Recorder("l1@a"),
        new Recorder("l2@a"),
        new Recorder("l3@a"),
      ];
      const remote = [new Recorder("r1@b"), new Recorder("r2@b")];
      for (const r of local) await a.groupAdd("room", r);
      for (const r of remote) await b.groupAdd("room", r);

      const { event: counted, plain, serializations } = countingEvent("once");
      await a.groupSend("room", counted);
      await Promise.all([...local, ...remote].map((r) => r.received(1)));
      assert.equal(serializations(), 1);

      const frames = [...local, ...remote].map((r) => r.frames[0]);
      for (const frame of frames) assert.ok(frame === frames[0]);
      assert.deepEqual(JSON.parse(frames[0]), {
        type: "message",
        message: plain,
      });
    },
  );

  t(
    "groupSend from an instance with no local member still reaches the others",
    2,
    async ([a, b], instances) => {
      const member = new Recorder("member@b");
      await b.groupAdd("room", member);
      assert.equal(a.localMembers("room"), backend.shared ? 1 : 0);
      const { event: counted, serializations } = countingEvent(
        "from an HTTP post",
      );
      await a.groupSend("room", counted);
      await member.received(1);
      assert.deepEqual(member.texts(), ["from an HTTP post"]);
      assert.equal(serializations(), 1);
      // Publishing without members left no subscription behind on `a`:
      // only `b`'s own subscription is open.
      assert.equal(a.localGroups(), backend.shared ? 1 : 0);
      assert.equal(instances.openSubscriptions(), backend.shared ? 0 : 1);
    },
  );

  t(
    "groupSend to a group with no members anywhere is a no-op",
    2,
    async ([a, b], instances) => {
      const probe = new Recorder("probe@b");
      await b.groupAdd("probe", probe);
      await a.groupSend("nobody-here", event("lost"));
      await a.groupSend("probe", event("marker"));
      await probe.received(1);
      assert.deepEqual(probe.texts(), ["marker"]);
      assert.equal(a.localGroups(), backend.shared ? 1 : 0);
      assert.equal(instances.openSubscriptions(), backend.shared ? 0 : 1);
    },
  );

  t(
    "close() forgets every member and releases subscriptions",
    3,
    async ([a, b, c], instances) => {
      const onB = new Recorder("room@b");
      const onB2 = new Recorder("other@b");
      await b.groupAdd("room", onB);
      await b.groupAdd("other", onB2);
      assert.equal(b.localGroups(), 2);
      assert.equal(instances.openSubscriptions(), backend.shared ? 0 : 2);
      await b.close();
      assert.equal(b.localGroups(), 0);
      assert.equal(b.localMembers("room"), 0);
      assert.equal(instances.openSubscriptions(), 0);
      // Closing twice is harmless.
      await b.close();

      if (backend.shared) {
        await a.groupSend("room", event("after close"));
        assert.deepEqual(onB.texts(), []);
        return;
      }
      // A live member on a third instance proves the event went out; the closed
      // instance's former member must not have it.
      const probe = new Recorder("room@c");
      await c.groupAdd("room", probe);
      await a.groupSend("room", event("after close"));
      await probe.received(1);
      assert.deepEqual(onB.texts(), []);
      assert.deepEqual(onB2.texts(), []);
    },
  );
}

for (const backend of backends) layerContract(backend);

Deno.test("broadcast layer: instances with different prefixes do not hear each other", async () => {
  const p1 = `test:${crypto.randomUUID()}:`;
  const p2 = `test:${crypto.randomUUID()}:`;
  const a1 = new BroadcastLayer({ prefix: p1 });
  const b1 = new BroadcastLayer({ prefix: p1 });
  const a2 = new BroadcastLayer({ prefix: p2 });
  const b2 = new BroadcastLayer({ prefix: p2 });
  try {
    const sameApp = new Recorder("room@b1");
    const otherApp = new Recorder("room@b2");
    await b1.groupAdd("room", sameApp);
    await b2.groupAdd("room", otherApp);
    await a1.groupSend("room", event("app one"));
    await sameApp.received(1);
    await a2.groupSend("room", event("app two"));
    await otherApp.received(1);
    assert.deepEqual(sameApp.texts(), ["app one"]);
    assert.deepEqual(otherApp.texts(), ["app two"]);
  } finally {
    for (const layer of [a1, b1, a2, b2]) await layer.close();
  }
});

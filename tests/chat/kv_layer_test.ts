/**
 * What the `kv` layer promises beyond the shared contract (layer_test.ts):
 * its cost in KV operations, watch streams of up to 10 groups, nothing lost
 * to watch coalescing, a `resync` for what expired, bounded queues, frames
 * bigger than a KV value, and real instances in two Workers of one process.
 */
import assert from "node:assert/strict";
import {
  KV_LAYER_NAMESPACE,
  KvLayer,
  MAX_QUEUED_SENDS,
} from "../../lib/chat/kv_layer.ts";
import {
  headKey,
  type LogHead,
  MAX_EVENT_CHARS,
  PART_CHARS,
} from "../../lib/chat/kv_events.ts";
import type { ChatEvent } from "../../lib/chat/layer.ts";
import { quietLogger } from "../../lib/log.ts";
import { countingKv, type KvCounts } from "../_helpers/counting_kv.ts";
import { event, Recorder } from "../_helpers/recorder.ts";
import { TEST_SECRET } from "../_helpers/server.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { startWorker } from "../_helpers/instances.ts";
import { guestCookie } from "../../support/guest.ts";
import { Signal } from "../../support/wait.ts";
import type {
  KvWorkerCommand,
  KvWorkerReply,
} from "./_fixtures/kv_layer_worker.ts";

/** Two layers (two instances) on one `:memory:` KV, each through its own counting wrapper. */
async function twoInstances(
  body: (
    a: { layer: KvLayer; counts: KvCounts },
    b: { layer: KvLayer; counts: KvCounts },
    kv: Deno.Kv,
  ) => Promise<void>,
  hooks: Parameters<typeof countingKv>[1] = {},
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  // The hooks act on the first instance only.
  const wa = countingKv(kv, hooks), wb = countingKv(kv);
  const a = new KvLayer(wa.kv, { log: quietLogger });
  const b = new KvLayer(wb.kv, { log: quietLogger });
  try {
    await body(
      { layer: a, counts: wa.counts },
      { layer: b, counts: wb.counts },
      kv,
    );
  } finally {
    await a.close();
    await b.close();
    kv.close();
  }
}

const texts = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

Deno.test("kv layer: a lone sender's groupSend is one atomic write and no read; the other instance reads once per wake-up", async () => {
  await twoInstances(async (a, b) => {
    const onA = new Recorder("room@a"), onB = new Recorder("room@b");
    await a.layer.groupAdd("room", onA);
    await b.layer.groupAdd("room", onB);
    const startA = { ...a.counts }, startB = { ...b.counts };
    const sends = 50;
    for (let i = 0; i < sends; i++) {
      await a.layer.groupSend("room", event(`m${i}`));
      await onB.received(i + 1);
    }
    assert.deepEqual(onA.texts(), texts("m", sends));
    assert.deepEqual(onB.texts(), texts("m", sends));
    assert.deepEqual(
      {
        writes: a.counts.commits - startA.commits,
        reads: a.counts.reads - startA.reads,
        rangeReads: a.counts.lists - startA.lists,
      },
      { writes: sends, reads: 0, rangeReads: 0 },
    );
    // One send at a time: every event is its own wake-up and range read.
    assert.deepEqual(
      {
        writes: b.counts.commits - startB.commits,
        reads: b.counts.reads - startB.reads,
        rangeReads: b.counts.lists - startB.lists,
      },
      { writes: 0, reads: 0, rangeReads: sends },
    );
  });
});

Deno.test("kv layer: ten groups share one watch stream, the eleventh opens another, and leaving stops them", async () => {
  await twoInstances(async (a, b) => {
    const members = Array.from(
      { length: 11 },
      (_, i) => new Recorder(`g${i}@a`),
    );
    // Joins in one tick re-open their stream once.
    await Promise.all(
      members.slice(0, 10).map((m, i) => a.layer.groupAdd(`g${i}`, m)),
    );
    assert.equal(a.counts.watches, 1);
    assert.equal(a.layer.watchStreams(), 1);
    await a.layer.groupAdd("g10", members[10]);
    assert.equal(a.layer.watchStreams(), 2);
    assert.equal(a.layer.watchedGroups(), 11);

    for (let i = 0; i < 11; i++) {
      await b.layer.groupSend(`g${i}`, event(`to g${i}`));
    }
    await Promise.all(members.map((m) => m.received(1)));
    members.forEach((m, i) => assert.deepEqual(m.texts(), [`to g${i}`]));

    await a.layer.groupDiscard("g10", members[10]);
    assert.equal(a.layer.watchStreams(), 1);
    for (let i = 0; i < 10; i++) {
      await a.layer.groupDiscard(`g${i}`, members[i]);
    }
    assert.equal(a.layer.watchStreams(), 0);
    assert.equal(a.layer.watchedGroups(), 0);
  });
});

Deno.test("kv layer: nothing is lost to watch coalescing: 1,000 sends at once arrive complete and in order", async () => {
  await twoInstances(async (a, b) => {
    const onA = new Recorder("room@a"), onB = new Recorder("room@b");
    await a.layer.groupAdd("room", onA);
    await b.layer.groupAdd("room", onB);
    const sends = 1_000;
    await Promise.all(
      texts("m", sends).map((t) => a.layer.groupSend("room", event(t))),
    );
    await onB.received(sends);
    assert.deepEqual(onB.texts(), texts("m", sends));
    assert.deepEqual(onA.texts(), texts("m", sends));
    // Group commit: far fewer writes than sends, and fewer reads than writes.
    assert.ok(a.counts.commits < sends / 10, `${a.counts.commits} writes`);
    assert.ok(b.counts.lists <= a.counts.commits, `${b.counts.lists} reads`);
  });
});

Deno.test("kv layer: events that expired before they were read become one resync; later events still arrive", async () => {
  await twoInstances(async (a, b, kv) => {
    const onB = new Recorder("room@b");
    await b.layer.groupAdd("room", onB);
    await a.layer.groupSend("room", event("first"));
    await onB.received(1);
    // Three events whose records are gone: the head moved past them.
    const key = headKey(KV_LAYER_NAMESPACE, "room");
    const head = (await kv.get<LogHead>(key)).value!;
    await kv.set(key, { seq: head.seq + 3, epoch: head.epoch });
    await onB.received(2);
    await a.layer.groupSend("room", event("after"));
    await onB.received(3);
    assert.deepEqual(onB.texts(), ["first", "<resync>", "after"]);
  });
});

Deno.test("kv layer: a head that expired and was recreated starts a new log the readers follow", async () => {
  await twoInstances(async (a, b, kv) => {
    const onA = new Recorder("room@a"), onB = new Recorder("room@b");
    await a.layer.groupAdd("room", onA);
    await b.layer.groupAdd("room", onB);
    await a.layer.groupSend("room", event("one"));
    await onB.received(1);
    await kv.delete(headKey(KV_LAYER_NAMESPACE, "room"));
    await a.layer.groupSend("room", event("two"));
    await onB.received(2);
    await b.layer.groupSend("room", event("three"));
    await Promise.all([onA.received(3), onB.received(3)]);
    assert.deepEqual(onA.texts(), ["one", "two", "three"]);
    assert.deepEqual(onB.texts(), ["one", "two", "three"]);
  });
});

Deno.test("kv layer: groupAdd fails while KV cannot be watched, and a broken stream catches up once it is back", async () => {
  let failing = false;
  await twoInstances(async (a, b) => {
    const live = new Recorder("live@a");
    await a.layer.groupAdd("live", live);
    assert.ok(a.layer.ready());

    failing = true;
    // Joining re-opens the stream of `live` too, which now fails.
    const newcomer = new Recorder("new@a");
    await assert.rejects(a.layer.groupAdd("new", newcomer), /unreachable/);
    assert.equal(a.layer.localMembers("new"), 0);
    assert.equal(a.layer.watchedGroups(), 1);
    assert.equal(a.layer.ready(), false);

    // Sent while `a` is not watching: read once its stream is back.
    await b.layer.groupSend("live", event("during"));
    failing = false;
    await b.layer.groupSend("live", event("after"));
    await live.received(2);
    assert.deepEqual(live.texts(), ["during", "after"]);
    assert.ok(a.layer.ready());
  }, {
    watchError: () => failing ? new Error("KV unreachable") : null,
  });
});

Deno.test("kv layer: a read that fails is retried, and nothing is lost", async () => {
  let failed = 0;
  await twoInstances(async (a, b) => {
    const onA = new Recorder("room@a");
    await a.layer.groupAdd("room", onA);
    await b.layer.groupSend("room", event("one"));
    await b.layer.groupSend("room", event("two"));
    await onA.received(2);
    assert.deepEqual(onA.texts(), ["one", "two"]);
    assert.equal(failed, 2);
  }, {
    listError: () =>
      failed < 2 ? (failed++, new Error("KV unreachable")) : null,
  });
});

Deno.test("kv layer: sends beyond the queue bound are dropped and their group is sent a resync", async () => {
  await twoInstances(async (a, b) => {
    const onB = new Recorder("room@b");
    await b.layer.groupAdd("room", onB);
    // Made in one tick, before the writer takes any: the queue holds the bound.
    const sends = MAX_QUEUED_SENDS + 5;
    await Promise.all(
      texts("m", sends).map((t) => a.layer.groupSend("room", event(t))),
    );
    await onB.received(MAX_QUEUED_SENDS + 1);
    assert.deepEqual(onB.texts(), [
      ...texts("m", MAX_QUEUED_SENDS),
      "<resync>",
    ]);
  });
});

Deno.test("kv layer: a frame bigger than a KV value travels in parts; one too big for the log becomes a resync", async () => {
  await twoInstances(async (a, b) => {
    const onA = new Recorder("room@a"), onB = new Recorder("room@b");
    await a.layer.groupAdd("room", onA);
    await b.layer.groupAdd("room", onB);
    await a.layer.groupSend("room", event("ж".repeat(PART_CHARS * 3 + 7)));
    await onB.received(1);
    assert.equal(onB.frames[0], onA.frames[0]);
    await a.layer.groupSend("room", event("x".repeat(MAX_EVENT_CHARS)));
    await onB.received(2);
    assert.equal(JSON.parse(onA.frames[1]).type, "message");
    assert.deepEqual(onB.texts().slice(1), ["<resync>"]);
  });
});

/** One layer instance in a Worker (tests/chat/_fixtures/kv_layer_worker.ts). */
class LayerWorker {
  readonly frames: { frame: string; at: number }[] = [];
  readonly #worker = new Worker(
    new URL("./_fixtures/kv_layer_worker.ts", import.meta.url),
    { type: "module" },
  );
  #done: ((counts: KvCounts) => void) | null = null;
  readonly #arrived = new Signal();

  constructor(readonly label: string) {
    this.#worker.onmessage = (e: MessageEvent<KvWorkerReply>) => {
      const reply = e.data;
      if (reply.kind === "done") {
        this.#done?.(reply.counts);
        return;
      }
      this.frames.push(reply);
      this.#arrived.notify();
    };
  }

  /** Runs one command; resolves with the worker's KV operation counts after it. */
  call(command: KvWorkerCommand): Promise<KvCounts> {
    return new Promise((resolve) => {
      this.#done = resolve;
      this.#worker.postMessage(command);
    });
  }

  /** Resolves once `count` frames have arrived. */
  received(count: number): Promise<void> {
    return this.#arrived.until(
      () => this.frames.length >= count,
      () => `${this.label}: ${this.frames.length}/${count} frames`,
    );
  }

  /** Message texts, other frames as `<type>`. */
  texts(): string[] {
    return this.frames.map(({ frame }) => {
      const parsed = JSON.parse(frame) as ChatEvent;
      return parsed.type === "message"
        ? parsed.message.text
        : `<${parsed.type}>`;
    });
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/** Two layer Workers on one KV file, both members of `room`. */
async function twoWorkers(
  body: (a: LayerWorker, b: LayerWorker) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const a = new LayerWorker("a"), b = new LayerWorker("b");
  try {
    const open: KvWorkerCommand = {
      op: "open",
      path: `${dir}/layer.kv`,
      namespace: crypto.randomUUID(),
    };
    await a.call(open);
    await b.call(open);
    await a.call({ op: "join", group: "room" });
    await b.call({ op: "join", group: "room" });
    await body(a, b);
  } finally {
    await a.call({ op: "close" });
    await b.call({ op: "close" });
    a.terminate();
    b.terminate();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("kv layer, two workers: 1,000 sends as fast as possible arrive complete and in order on the other worker", async () => {
  await twoWorkers(async (a, b) => {
    const sends = 1_000;
    // One after another: 1,000 writes, far more than the receiver's watch
    // reports one by one (it coalesces), each read back by seq.
    const before = await b.call({ op: "counts" });
    const oneByOne = await a.call({
      op: "send",
      group: "room",
      label: "s",
      count: sends,
      together: false,
    });
    await Promise.all([a.received(sends), b.received(sends)]);
    const between = await b.call({ op: "counts" });
    // All at once: group commit.
    const together = await a.call({
      op: "send",
      group: "room",
      label: "t",
      count: sends,
      together: true,
    });
    await Promise.all([a.received(2 * sends), b.received(2 * sends)]);
    const after = await b.call({ op: "counts" });
    const expected = [...texts("s", sends), ...texts("t", sends)];
    assert.deepEqual(a.texts(), expected);
    assert.deepEqual(b.texts(), expected);
    assert.equal(oneByOne.commits, sends);
    console.log(
      `kv layer, two workers, ${sends} sends one after another: ${oneByOne.commits} writes, ` +
        `${between.lists - before.lists} range reads on the receiver; ` +
        `all at once: ${together.commits - oneByOne.commits} writes, ${
          after.lists - between.lists
        } range reads`,
    );
  });
});

Deno.test("kv layer, two workers: one event at a time, what it costs and how long it takes", async () => {
  await twoWorkers(async (a, b) => {
    const sends = 200;
    const latencies: number[] = [];
    let countsA: KvCounts | null = null;
    for (let i = 0; i < sends; i++) {
      countsA = await a.call({
        op: "send",
        group: "room",
        label: `p${i}-`,
        count: 1,
        together: false,
      });
      await b.received(i + 1);
      const { frame, at } = b.frames[i];
      const parsed = JSON.parse(frame) as ChatEvent;
      assert.equal(parsed.type, "message");
      if (parsed.type === "message") latencies.push(at - parsed.message.ts);
    }
    assert.deepEqual(
      b.texts(),
      Array.from({ length: sends }, (_, i) => `p${i}-0`),
    );
    const countsB = await b.call({ op: "counts" });
    // The sender wrote once per send and read nothing; the receiver read once per event.
    assert.deepEqual(
      { writes: countsA!.commits, reads: countsA!.reads + countsA!.lists },
      { writes: sends, reads: 0 },
    );
    assert.deepEqual(
      {
        writes: countsB.commits,
        reads: countsB.reads,
        rangeReads: countsB.lists,
      },
      { writes: 0, reads: 0, rangeReads: sends },
    );
    latencies.sort((x, y) => x - y);
    const pct = (p: number) =>
      latencies[Math.min(sends - 1, Math.floor(sends * p))].toFixed(2);
    console.log(
      `kv layer, two workers, one at a time: delivered in p50 ${
        pct(0.5)
      } ms, p99 ${pct(0.99)} ms`,
    );
  });
});

Deno.test("kv layer: clients on two app workers exchange messages, typing and presence both ways", async () => {
  const dir = await Deno.makeTempDir();
  const env = {
    CHANNEL_LAYER: "kv",
    KV_PATH: `${dir}/shared.kv`,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
  };
  const one = await startWorker(env);
  const two = await startWorker(env);
  const clients: TestClient[] = [];
  const connect = async (worker: typeof one, name: string) => {
    const client = await TestClient.connect(
      `ws://127.0.0.1:${worker.port}/ws/chat/lobby`,
      { cookie: await guestCookie(worker.origin, name), origin: worker.origin },
    );
    clients.push(client);
    const welcome = await client.nextOf("welcome");
    return { client, id: welcome.you.id };
  };
  const joined = (id: string) => (f: { type: string; joins?: object }) =>
    f.type === "presence" && f.joins !== undefined && id in f.joins;
  const left = (id: string) => (f: { type: string; leaves?: object }) =>
    f.type === "presence" && f.leaves !== undefined && id in f.leaves;
  try {
    const ana = await connect(one, "Ana");
    const ben = await connect(two, "Ben");
    // Presence: worker two → worker one, then worker one → worker two.
    await ana.client.next(joined(ben.id));
    const cy = await connect(one, "Cy");
    await ben.client.next(joined(cy.id));

    ana.client.send({ type: "message", text: "from one", clientId: "w1" });
    assert.equal((await ben.client.nextOf("message")).message.text, "from one");
    ben.client.send({ type: "message", text: "from two", clientId: "w2" });
    const atOne = await ana.client.next((f) =>
      f.type === "message" && f.message.text === "from two"
    );
    // Both workers share one KV file: one sequence for the room.
    if (atOne.type === "message") assert.equal(atOne.message.seq, 2);

    const typingOf = (id: string) => (f: { type: string; userId?: string }) =>
      f.type === "typing" && f.userId === id;
    ana.client.send({ type: "typing" });
    await ben.client.next(typingOf(ana.id));
    ben.client.send({ type: "typing" });
    await ana.client.next(typingOf(ben.id));

    await cy.client.close();
    await ben.client.next(left(cy.id));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await one.stop();
    await two.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

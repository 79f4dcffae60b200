/**
 * The presence tracker on real Deno KV (in memory) and the memory layer. Two
 * trackers with their own instance ids on one KV and one layer stand for two
 * instances of the app; a tracker on a layer of its own stands for an
 * instance whose diffs are lost on the way.
 */
import assert from "node:assert/strict";
import {
  type Channel,
  MemoryLayer,
  newChannelName,
  newInstanceId,
} from "../../lib/chat/layer.ts";
import { emptyPresence, nextPresence } from "../../lib/chat/presence.ts";
import type { PresenceDiff, PresenceState } from "../../lib/chat/types.ts";
import {
  PRESENCE_ANNOUNCE_MS,
  PRESENCE_BATCH_MS,
  PRESENCE_RECONCILE_BEATS,
  PRESENCE_RELEASE_MS,
  PRESENCE_STORM_MAX_MS,
  presenceBatchMs,
  PresenceTracker,
  presenceWindowMs,
  STATE_SHARED_MAX_LAG,
  trackerGroup,
} from "../../lib/chat/presence_tracker.ts";
import type { ServerFrame } from "../../lib/chat/protocol.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { quietLogger } from "../../lib/log.ts";
import { KV_DELETES_MAX, KvPresenceStore } from "../../lib/store/presence.ts";
import { PRESENCE_TTL_MS } from "../../lib/store/types.ts";
import { Signal } from "../../support/wait.ts";
import { countingKv } from "../_helpers/counting_kv.ts";

/** Counts full reads of a room, the cost a join must not pay. */
class CountingStore extends KvPresenceStore {
  roomReads = 0;
  override room(room: string, now?: number) {
    this.roomReads++;
    return super.room(room, now);
  }
}

/** A local socket as the tracker sees it: records frames, follows the state. */
class Socket implements Channel {
  readonly name: string;
  readonly frames: ServerFrame[] = [];
  state: PresenceState = emptyPresence();
  readonly #signal = new Signal();

  constructor(instance: string, readonly user: ChatUser) {
    this.name = newChannelName(instance);
  }

  send(frame: string): void {
    const f = JSON.parse(frame) as ServerFrame;
    this.frames.push(f);
    if (f.type === "presence") {
      this.state = nextPresence(this.state, f);
    }
    this.#signal.notify();
  }

  names(): string[] {
    return Object.values(this.state).map((e) => e.user.name).sort();
  }

  /** Resolves once `test` holds, re-checked on every frame. */
  until(test: () => boolean, what: string): Promise<void> {
    return this.#signal.until(test, () => `${what}: ${this.names()}`);
  }

  diffs(): number {
    return this.frames.filter((f) => f.type === "presence" && !f.state).length;
  }
}

const user = (name: string): ChatUser => ({
  id: `guest:${name}`,
  name,
  kind: "guest",
});

/** Joins `socket` and applies the state it is given, as the consumer does. */
async function join(
  tracker: PresenceTracker,
  room: string,
  socket: Socket,
): Promise<void> {
  socket.send((await tracker.join(room, socket.user, socket)).join(""));
}

/**
 * Resolves once the diff announcing `socket`'s join went out on the room's
 * tracker group (its batch is done; the socket itself was told in its state).
 */
async function batchSent(
  bus: MemoryLayer,
  room: string,
  socket: Socket,
): Promise<void> {
  const tap = new Socket(newInstanceId(), user("Tap"));
  await bus.groupAdd(trackerGroup(room), tap);
  await tap.until(
    () => socket.user.id in tap.state,
    `${socket.user.name}'s join sent`,
  );
  await bus.groupDiscard(trackerGroup(room), tap);
}

interface Instance {
  tracker: PresenceTracker;
  store: CountingStore;
}

async function setup(
  fn: (
    make: (layer?: MemoryLayer, stateMaxLag?: number) => Promise<Instance>,
    kv: Deno.Kv,
    bus: MemoryLayer,
  ) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const bus = new MemoryLayer();
  const made: PresenceTracker[] = [];
  try {
    await fn(
      async (layer = bus, stateMaxLag?: number) => {
        const store = new CountingStore(kv);
        const tracker = new PresenceTracker(
          store,
          newInstanceId(),
          layer,
          quietLogger,
          stateMaxLag,
        );
        await store.heartbeat(tracker.instance);
        made.push(tracker);
        return { tracker, store };
      },
      kv,
      bus,
    );
  } finally {
    for (const t of made) await t.stop();
    kv.close();
  }
}

Deno.test("a newcomer gets everyone, on every instance; the room is read once per instance, not per join", async () => {
  await setup(async (make) => {
    const a = await make();
    const b = await make();
    const ana = new Socket(a.tracker.instance, user("Ana"));
    await join(a.tracker, "r", ana);
    const others = Array.from(
      { length: 20 },
      (_, i) => new Socket(b.tracker.instance, user(`B${i}`)),
    );
    for (const s of others) await join(b.tracker, "r", s);
    await ana.until(() => ana.names().length === 21, "21 people on A");
    const late = new Socket(a.tracker.instance, user("Late"));
    await join(a.tracker, "r", late);
    await late.until(() => late.names().length === 22, "22 people for Late");
    assert.equal(a.store.roomReads, 1);
    assert.equal(b.store.roomReads, 1);
  });
});

Deno.test("joins within the batch window reach members as one diff", async () => {
  await setup(async (make) => {
    const bus = new MemoryLayer();
    const { tracker } = await make(bus);
    const watcher = new Socket(tracker.instance, user("Watcher"));
    await join(tracker, "r", watcher);
    await batchSent(bus, "r", watcher);
    const crowd = Array.from(
      { length: 30 },
      (_, i) => new Socket(tracker.instance, user(`P${i}`)),
    );
    await Promise.all(crowd.map((s) => join(tracker, "r", s)));
    await watcher.until(() => watcher.names().length === 31, "31 people");
    assert.ok(
      watcher.diffs() <= 3,
      `${watcher.diffs()} diffs for 30 joins within ${PRESENCE_BATCH_MS} ms`,
    );
  });
});

Deno.test("a storm of joins spread over many windows reaches each member in a few diffs, and the final presence is exact", async () => {
  await setup(async (make) => {
    const bus = new MemoryLayer();
    const { tracker } = await make(bus);
    const watcher = new Socket(tracker.instance, user("Watcher"));
    await join(tracker, "r", watcher);
    await batchSent(bus, "r", watcher);
    const before = watcher.diffs();
    // 100 people, one every 15 ms: 1.5 s, 30 base windows of 50 ms.
    const crowd: Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = new Socket(tracker.instance, user(`P${i}`));
      crowd.push(s);
      await join(tracker, "r", s);
      await new Promise((r) => setTimeout(r, 15));
    }
    const everyone = ["Watcher", ...crowd.map((s) => s.user.name)].sort();
    await watcher.until(
      () => watcher.names().length === 101,
      "101 people for the watcher",
    );
    // Windows of 50, 100, 200, 400, 800 ms… instead of 30 of 50 ms.
    const diffs = watcher.diffs() - before;
    assert.ok(diffs <= 8, `${diffs} diffs for 100 joins over 1.5 s`);
    assert.deepEqual(watcher.names(), everyone);
    // Each newcomer's state plus its diffs is exact too.
    const last = crowd.at(-1)!;
    await last.until(() => last.names().length === 101, "the last one");
    assert.deepEqual(last.names(), everyone);
    assert.deepEqual(crowd[0].names(), everyone);
  });
});

Deno.test("a leave right after a join still reaches whoever saw the join in a state", async () => {
  await setup(async (make) => {
    const { tracker } = await make();
    const ana = new Socket(tracker.instance, user("Ana"));
    await join(tracker, "r", ana);
    const ben = new Socket(tracker.instance, user("Ben"));
    await join(tracker, "r", ben);
    // Cleo joins after Ben's join; her state names Ben before any diff went out.
    const cleo = new Socket(tracker.instance, user("Cleo"));
    await join(tracker, "r", cleo);
    await tracker.leave("r", ben.user, ben, Date.now());
    await cleo.until(
      () => JSON.stringify(cleo.names()) === '["Ana","Cleo"]',
      "Ben gone for Cleo",
    );
    await ana.until(
      () => JSON.stringify(ana.names()) === '["Ana","Cleo"]',
      "Ben gone for Ana",
    );
  });
});

Deno.test("connections of an instance that stopped beating are dropped and announced locally", async () => {
  await setup(async (make, kv) => {
    const a = await make();
    const b = await make();
    const ana = new Socket(a.tracker.instance, user("Ana"));
    await join(a.tracker, "r", ana);
    const ghost = new Socket(b.tracker.instance, user("Ghost"));
    await join(b.tracker, "r", ghost);
    await ana.until(() => ana.names().length === 2, "Ghost seen");
    // B dies without retiring: only time passes for A.
    await a.tracker.tick(Date.now() + PRESENCE_TTL_MS + 1);
    await ana.until(
      () => JSON.stringify(ana.names()) === '["Ana"]',
      "Ghost gone",
    );
    const key = await kv.get(["presence", "r", ghost.name]);
    assert.equal(key.value, null, "the ghost's key is deleted");
  });
});

Deno.test("connections of a crashed instance first seen at a room's initial load are deleted from KV, not only hidden", async () => {
  await setup(async (make, kv) => {
    const crashed = await make();
    const ghosts = [new Socket(crashed.tracker.instance, user("Ghost"))];
    ghosts.push(new Socket(crashed.tracker.instance, user("Ghost2")));
    for (const ghost of ghosts) await join(crashed.tracker, "r", ghost);
    // It dies without retiring: its beat runs out.
    await crashed.store.heartbeat(
      crashed.tracker.instance,
      Date.now() - PRESENCE_TTL_MS - 1,
    );
    const later = await make();
    const ana = new Socket(later.tracker.instance, user("Ana"));
    await join(later.tracker, "r", ana);
    assert.deepEqual(ana.names(), ["Ana"]);
    for (const ghost of ghosts) {
      const key = await kv.get(["presence", "r", ghost.name]);
      assert.equal(key.value, null, "the ghost's key is deleted");
    }
  });
});

Deno.test("a diff lost on the bus is repaired by the periodic reconcile", async () => {
  await setup(async (make) => {
    const a = await make();
    const cut = await make(new MemoryLayer()); // its diffs never reach A
    const ana = new Socket(a.tracker.instance, user("Ana"));
    await join(a.tracker, "r", ana);
    const unseen = new Socket(cut.tracker.instance, user("Unseen"));
    await join(cut.tracker, "r", unseen);
    assert.deepEqual(ana.names(), ["Ana"]);
    for (let i = 0; i < PRESENCE_RECONCILE_BEATS; i++) await a.tracker.tick();
    await ana.until(() => ana.names().length === 2, "Unseen repaired");
    // A later newcomer on A gets the repaired state.
    const late = new Socket(a.tracker.instance, user("Late"));
    await join(a.tracker, "r", late);
    assert.deepEqual(late.names(), ["Ana", "Late", "Unseen"]);
  });
});

Deno.test("a resync from the layer makes the tracker reconcile at once", async () => {
  await setup(async (make) => {
    const bus = new MemoryLayer();
    const a = await make(bus);
    const cut = await make(new MemoryLayer());
    const ana = new Socket(a.tracker.instance, user("Ana"));
    await join(a.tracker, "r", ana);
    const unseen = new Socket(cut.tracker.instance, user("Unseen"));
    await join(cut.tracker, "r", unseen);
    await bus.groupSend(trackerGroup("r"), { type: "resync" });
    await ana.until(() => ana.names().length === 2, "Unseen after resync");
  });
});

Deno.test("the last local leave stops following the room", async () => {
  await setup(async (make) => {
    const bus = new MemoryLayer();
    const { tracker } = await make(bus);
    const ana = new Socket(tracker.instance, user("Ana"));
    await join(tracker, "r", ana);
    assert.equal(tracker.localRooms, 1);
    assert.equal(bus.localMembers(trackerGroup("r")), 1);
    await tracker.leave("r", ana.user, ana, Date.now());
    assert.equal(tracker.localRooms, 0);
    assert.equal(bus.localMembers(trackerGroup("r")), 0);
  });
});

Deno.test("with no lag allowed, every newcomer of a burst gets exactly who is there, in a state with no delta", async () => {
  await setup(async (make) => {
    const { tracker } = await make(undefined, 0);
    const here: Socket[] = [];
    let withDelta = 0;
    for (let i = 0; i < 60; i++) {
      const s = new Socket(tracker.instance, user(`P${i}`));
      const frame = JSON.parse((await tracker.join("r", s.user, s)).join(""));
      if (frame.joins) withDelta++;
      s.send(JSON.stringify(frame));
      here.push(s);
      // Checked at once: the state alone, before any batched diff arrives.
      assert.deepEqual(
        s.names(),
        here.map((h) => h.user.name).sort(),
        `newcomer P${i}`,
      );
      if (i % 3 === 2) {
        const [gone] = here.splice(i % here.length, 1);
        await tracker.leave("r", gone.user, gone, Date.now());
      }
    }
    assert.equal(withDelta, 0, "states come without joins beside them");
  });
});

Deno.test("the batch window grows with the room, bounding presence frames per second", () => {
  assert.equal(presenceBatchMs(1), PRESENCE_BATCH_MS);
  assert.equal(presenceBatchMs(25), PRESENCE_BATCH_MS);
  assert.equal(presenceBatchMs(100), 200);
  assert.equal(presenceBatchMs(500), 1_000);
  assert.equal(presenceBatchMs(50_000), 1_000);
  for (const members of [100, 200, 500]) {
    assert.ok(members / (presenceBatchMs(members) / 1000) <= 500);
  }
});

Deno.test("a room's window doubles for each busy window in a row, up to the storm cap; a quiet room starts from the base", () => {
  assert.equal(presenceWindowMs(50, 0), presenceBatchMs(50));
  assert.equal(presenceWindowMs(50, 1), 2 * presenceBatchMs(50));
  assert.equal(presenceWindowMs(50, 3), 8 * presenceBatchMs(50));
  assert.equal(presenceWindowMs(50, 40), PRESENCE_STORM_MAX_MS);
  assert.equal(presenceWindowMs(5, 0), PRESENCE_BATCH_MS);
  // A room bigger than the cap's base keeps its own (bounded) window.
  assert.equal(presenceWindowMs(500, 0), presenceBatchMs(500));
  assert.ok(presenceWindowMs(500, 5) <= PRESENCE_STORM_MAX_MS);
});

Deno.test("a newcomer does not wait for its presence write, and no other instance hears of the join before the store has it", async () => {
  const kv = await Deno.openKv(":memory:");
  const bus = new MemoryLayer();
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => open = r);
  /** A store whose writes wait for the gate (a database busy with a storm). */
  class SlowStore extends KvPresenceStore {
    override async track(record: Parameters<KvPresenceStore["track"]>[0]) {
      await gate;
      return super.track(record);
    }
  }
  const slow = new PresenceTracker(
    new SlowStore(kv),
    newInstanceId(),
    bus,
    quietLogger,
  );
  const other = new PresenceTracker(
    new KvPresenceStore(kv),
    newInstanceId(),
    bus,
    quietLogger,
  );
  try {
    await new KvPresenceStore(kv).heartbeat(slow.instance);
    await new KvPresenceStore(kv).heartbeat(other.instance);
    const watcher = new Socket(other.instance, user("Watcher"));
    await join(other, "r", watcher);
    const ana = new Socket(slow.instance, user("Ana"));
    // Resolves with the write still held at the gate.
    await join(slow, "r", ana);
    assert.deepEqual(
      ana.names(),
      ["Ana", "Watcher"],
    );
    // Three batch windows (the diff's timer has fired: a wait for something
    // that must NOT happen), the watcher has still not heard of Ana…
    await new Promise((r) => setTimeout(r, 3 * PRESENCE_BATCH_MS));
    assert.deepEqual(watcher.names(), ["Watcher"]);
    assert.equal(
      await new KvPresenceStore(kv).room("r").then((rs) => rs.length),
      1,
    );
    // …and does once the store has her.
    open();
    await watcher.until(
      () => watcher.names().includes("Ana"),
      "Ana announced after her write",
    );
    assert.equal(
      await new KvPresenceStore(kv).room("r").then((rs) => rs.length),
      2,
    );
  } finally {
    open();
    await slow.stop();
    await other.stop();
    kv.close();
  }
});

/** The state of `sockets` as the room should show it: one entry per user, one meta per connection, in join order. */
function stateOf(sockets: readonly Socket[], since: Map<Socket, number>) {
  const state = emptyPresence();
  for (const s of sockets) {
    const entry = state[s.user.id] ??
      (state[s.user.id] = { user: s.user, metas: [] });
    entry.metas.push({ conn: s.name, since: since.get(s)! });
  }
  return state;
}

/** Joins `socket` at `since` and returns the raw state frame it is given (after applying it). */
async function joinAt(
  tracker: PresenceTracker,
  room: string,
  socket: Socket,
  since: number,
): Promise<Record<string, unknown>> {
  const raw = (await tracker.join(room, socket.user, socket, since)).join("");
  socket.send(raw);
  return JSON.parse(raw);
}

Deno.test("with no lag allowed, every newcomer's state frame is exactly the room at that moment, with no joins or leaves beside it", async () => {
  await setup(async (make) => {
    const { tracker } = await make(undefined, 0);
    const here: Socket[] = [];
    const since = new Map<Socket, number>();
    for (let i = 0; i < 40; i++) {
      // Every fifth newcomer is a second tab of someone already here.
      const s = new Socket(
        tracker.instance,
        i % 5 === 4 ? here[i % here.length].user : user(`P${i}`),
      );
      since.set(s, 1_000 + i);
      const frame = await joinAt(tracker, "r", s, 1_000 + i);
      here.push(s);
      assert.deepEqual(Object.keys(frame).sort(), ["state", "type"]);
      assert.deepEqual(s.state, stateOf(here, since), `newcomer ${i}`);
      if (i % 7 === 6) {
        const [gone] = here.splice(i % here.length, 1);
        await tracker.leave("r", gone.user, gone, since.get(gone)!);
      }
    }
  });
});

Deno.test("a person's entry follows their connections: a closed tab leaves the others, in order, for later newcomers", async () => {
  await setup(async (make) => {
    // States built at each join, so each shows its moment's entries.
    const { tracker } = await make(undefined, 0);
    const since = new Map<Socket, number>();
    const ana = user("Ana");
    const tabs = [1, 2, 3].map(() => new Socket(tracker.instance, ana));
    for (const [i, tab] of tabs.entries()) {
      since.set(tab, 10 + i);
      await joinAt(tracker, "r", tab, 10 + i);
    }
    const ben = new Socket(tracker.instance, user("Ben"));
    since.set(ben, 20);
    await joinAt(tracker, "r", ben, 20);
    assert.deepEqual(ben.state, stateOf([...tabs, ben], since));
    // The middle tab closes: Ana stays, with the first and third, in that order.
    await tracker.leave("r", ana, tabs[1], since.get(tabs[1])!);
    const cy = new Socket(tracker.instance, user("Cy"));
    since.set(cy, 30);
    await joinAt(tracker, "r", cy, 30);
    const after = [tabs[0], tabs[2], ben, cy];
    assert.deepEqual(cy.state, stateOf(after, since));
    assert.deepEqual(
      cy.state[ana.id].metas.map((m) => m.conn),
      [tabs[0].name, tabs[2].name],
    );
    // Those already here (Ana's other tabs too) hear of the closed tab and Cy.
    for (const s of [tabs[0], tabs[2], ben]) {
      await s.until(
        () => s.state[ana.id]?.metas.length === 2 && cy.user.id in s.state,
        `${s.name} sees Ana's tab close and Cy come`,
      );
      assert.deepEqual(s.state, stateOf(after, since), s.name);
    }
    // Her last tabs close: she is gone for the next newcomer.
    await tracker.leave("r", ana, tabs[0], since.get(tabs[0])!);
    await tracker.leave("r", ana, tabs[2], since.get(tabs[2])!);
    const dee = new Socket(tracker.instance, user("Dee"));
    since.set(dee, 40);
    await joinAt(tracker, "r", dee, 40);
    assert.deepEqual(dee.state, stateOf([ben, cy, dee], since));
  });
});

Deno.test("user ids that need escaping in JSON reach newcomers intact", async () => {
  await setup(async (make) => {
    const { tracker } = await make(undefined, 0);
    const odd = [
      'say "hi"',
      "back\\slash",
      "__proto__",
      "constructor",
      "line\nbreak\u2028",
      "12",
      "ünï😀",
    ];
    const here: Socket[] = [];
    const since = new Map<Socket, number>();
    for (const [i, id] of odd.entries()) {
      const s = new Socket(tracker.instance, {
        id,
        name: `N${i}`,
        kind: "guest",
      });
      since.set(s, i);
      await joinAt(tracker, "r", s, i);
      here.push(s);
      assert.deepEqual(s.state, stateOf(here, since), JSON.stringify(id));
    }
    const last = here.at(-1)!;
    assert.deepEqual(Object.keys(last.state).sort(), [...odd].sort());
    assert.equal(Object.getPrototypeOf(last.state), null);
  });
});

/** Entries (metas) a socket was given in presence frames: state, joins, leaves. */
function entriesSeen(
  socket: Socket,
): { state: number; joins: number; leaves: number } {
  const count = (s: PresenceState | undefined) =>
    Object.values(s ?? {}).reduce((n, e) => n + e.metas.length, 0);
  const seen = { state: 0, joins: 0, leaves: 0 };
  for (const f of socket.frames) {
    if (f.type !== "presence") continue;
    seen.state += count(f.state);
    seen.joins += count(f.joins);
    seen.leaves += count(f.leaves);
  }
  return seen;
}

Deno.test("in a burst of joins each member learns of each person exactly once, by state or by diff", async () => {
  await setup(async (make) => {
    const { tracker } = await make();
    const crowd = Array.from(
      { length: 50 },
      (_, i) => new Socket(tracker.instance, user(`P${i}`)),
    );
    await Promise.all(crowd.map((s) => join(tracker, "r", s)));
    for (const s of crowd) {
      await s.until(() => s.names().length === 50, s.user.name);
    }
    await tracker.stop();
    const total = { state: 0, joins: 0, leaves: 0 };
    for (const s of crowd) {
      const seen = entriesSeen(s);
      total.state += seen.state;
      total.joins += seen.joins;
      total.leaves += seen.leaves;
    }
    // 50 × 50 entries in all, the least there can be: each of the 50
    // members learns of each of the 50 people once, by state or by diff.
    assert.equal(total.state + total.joins, 2_500);
    assert.equal(total.leaves, 0);
    // Shared states: exact ones would hold 1 + 2 + … + 50 = 1,275 entries.
    assert.ok(total.state < 1_275, `${total.state} entries in states`);
  });
});

Deno.test("newcomers of a burst share a state, lagging by at most STATE_SHARED_MAX_LAG of this instance's changes, which the same frame carries: each frame is exactly the room", async () => {
  await setup(async (make) => {
    const { tracker } = await make();
    const here: Socket[] = [];
    const states = new Set<string>();
    let lagging = 0;
    const count = 2 * STATE_SHARED_MAX_LAG + 10;
    for (let i = 0; i < count; i++) {
      const s = new Socket(tracker.instance, user(`P${i}`));
      const parts = await tracker.join("r", s.user, s);
      const raw = parts.join("");
      const frame = JSON.parse(raw) as PresenceDiff & { state: PresenceState };
      states.add(parts[0]);
      here.push(s);
      const lag = here.length - Object.keys(frame.state).length;
      const changes = Object.keys(frame.joins ?? {}).length +
        Object.keys(frame.leaves ?? {}).length;
      assert.ok(lag <= STATE_SHARED_MAX_LAG, `P${i} lags by ${lag}`);
      // The changes since the state come in the same frame, or none lag.
      assert.equal(
        changes > 0,
        raw !== `{"type":"presence","state":${JSON.stringify(frame.state)}}`,
      );
      if (changes > 0) lagging++;
      s.send(raw);
      // At once, before any batch: the frame is the room.
      assert.deepEqual(
        s.names(),
        here.map((h) => h.user.name).sort(),
        `newcomer P${i}`,
      );
      // Every seventh leaves: a change the next states may lag too.
      if (i % 7 === 6) {
        const [gone] = here.splice(i % here.length, 1);
        await tracker.leave("r", gone.user, gone, Date.now());
      }
    }
    // One state per STATE_SHARED_MAX_LAG changes or so, not one each.
    assert.ok(states.size <= 5, `${states.size} states for ${count} newcomers`);
    assert.ok(lagging > count / 2, `${lagging} newcomers shared a state`);
    // And no one hears of anyone twice: the batch brings only what followed.
    const everyone = here.map((h) => h.user.name).sort();
    for (const s of here) {
      await s.until(() => s.names().length === here.length, s.user.name);
      assert.deepEqual(s.names(), everyone, s.user.name);
    }
  });
});

Deno.test("a change from another instance makes the shared state stale", async () => {
  await setup(async (make) => {
    const a = (await make()).tracker;
    const b = (await make()).tracker;
    const stateOfFrame = (raw: string) => JSON.stringify(JSON.parse(raw).state);
    const first = new Socket(a.instance, user("First"));
    const firstFrame = (await a.join("r", first.user, first)).join("");
    first.send(firstFrame);
    const second = new Socket(a.instance, user("Second"));
    assert.equal(
      stateOfFrame((await a.join("r", second.user, second)).join("")),
      stateOfFrame(firstFrame),
      "shared while only A's own changes followed",
    );
    // A person on instance B: no change of A's own would bring them.
    const remote = new Socket(b.instance, user("Remote"));
    await join(b, "r", remote);
    await first.until(() => remote.user.id in first.state, "remote seen");
    const third = new Socket(a.instance, user("Third"));
    const frame = (await a.join("r", third.user, third)).join("");
    assert.notEqual(stateOfFrame(frame), stateOfFrame(firstFrame));
    third.send(frame);
    assert.deepEqual(third.names(), ["First", "Remote", "Second", "Third"]);
  });
});

Deno.test("members on two instances joining at once each learn of each person exactly once", async () => {
  await setup(async (make) => {
    const a = await make();
    const b = await make();
    const crowd: Socket[] = [];
    const joins: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const at = i % 2 ? a.tracker : b.tracker;
      const s = new Socket(at.instance, user(`P${i}`));
      crowd.push(s);
      joins.push(join(at, "r", s));
      if (i % 8 === 7) {
        await Promise.all(joins);
        await new Promise((r) => setTimeout(r, PRESENCE_BATCH_MS / 2));
      }
    }
    await Promise.all(joins);
    for (const s of crowd) {
      await s.until(() => s.names().length === 40, s.user.name);
    }
    let total = 0;
    for (const s of crowd) {
      const seen = entriesSeen(s);
      assert.equal(seen.leaves, 0);
      total += seen.state + seen.joins;
    }
    assert.equal(total, 40 * 40);
  });
});

/** The connections of `instance` that have a record in `kv`. */
async function recordsOf(kv: Deno.Kv, instance: string): Promise<number> {
  let n = 0;
  for await (
    const e of kv.list<{ instance: string }>({ prefix: ["presence"] })
  ) {
    if (e.value.instance === instance) n++;
  }
  return n;
}

Deno.test("a stop deletes every record of the instance in batches, then announces the leaves: another instance sees the room empty of them without a ghost sweep", async () => {
  await setup(async (make, raw, bus) => {
    const { kv, counts } = countingKv(raw);
    const store = new KvPresenceStore(kv);
    const b = await make();
    const stopping = new PresenceTracker(
      store,
      newInstanceId(),
      bus,
      quietLogger,
    );
    await store.heartbeat(stopping.instance);
    const many = KV_DELETES_MAX + 100;
    const watcher = new Socket(b.tracker.instance, user("Watcher"));
    await join(b.tracker, "r", watcher);
    const sockets = Array.from(
      { length: many },
      (_, i) => new Socket(stopping.instance, user(`P${i}`)),
    );
    for (const [i, s] of sockets.entries()) {
      await join(stopping, i % 2 ? "r" : "s", s);
    }
    await watcher.until(
      () => watcher.names().length === 1 + many / 2,
      "every join in r seen",
    );
    assert.equal(await recordsOf(raw, stopping.instance), many);
    // A leave in the batch when the stop begins goes with the stop's leaves.
    await stopping.leave("r", sockets[1].user, sockets[1], 0);

    const before = counts.commits;
    await stopping.stop();
    // 600 deletes: two atomic writes, not 600 (nor 6 of 100).
    assert.equal(counts.commits - before, Math.ceil(many / KV_DELETES_MAX));
    assert.equal(await recordsOf(raw, stopping.instance), 0);
    // Only the layer can have told B: its heartbeat and ghost sweep never ran.
    await watcher.until(
      () => JSON.stringify(watcher.names()) === '["Watcher"]',
      "the stopped instance's people gone",
    );
    assert.deepEqual(
      (await b.store.room("r")).map((r) => r.user.name),
      ["Watcher"],
    );
    // Stopped: no new join, and a late leave writes nothing.
    const late = new Socket(stopping.instance, user("Late"));
    await assert.rejects(stopping.join("r", late.user, late), /stopping/);
    const commits = counts.commits;
    await stopping.leave("r", sockets[3].user, sockets[3], 0);
    assert.equal(counts.commits, commits);
  });
});

Deno.test("a stop right after joins, before their writes are committed, still leaves no record", async () => {
  await setup(async (make, kv) => {
    const { tracker } = await make();
    const sockets = Array.from(
      { length: 250 },
      (_, i) => new Socket(tracker.instance, user(`Q${i}`)),
    );
    // Not awaited: the writes are still queued when the stop begins.
    const joins = sockets.map((s) => join(tracker, "r", s));
    await Promise.all(joins);
    await tracker.stop();
    assert.equal(await recordsOf(kv, tracker.instance), 0);
  });
});

Deno.test("a store whose deletes never settle does not hold a stop past its bound, and the leaves still go out", async () => {
  /** Deletes that never complete (a store that hangs). */
  class StuckStore extends KvPresenceStore {
    override untrackAll(): Promise<void> {
      return new Promise(() => {});
    }
  }
  await setup(async (make, kv, bus) => {
    const b = await make();
    const store = new StuckStore(kv);
    const stuck = new PresenceTracker(
      store,
      newInstanceId(),
      bus,
      quietLogger,
    );
    await store.heartbeat(stuck.instance);
    const watcher = new Socket(b.tracker.instance, user("Watcher"));
    await join(b.tracker, "r", watcher);
    const ana = new Socket(stuck.instance, user("Ana"));
    await join(stuck, "r", ana);
    await watcher.until(() => watcher.names().length === 2, "Ana seen");
    const started = performance.now();
    await stuck.stop();
    const took = performance.now() - started;
    assert.ok(
      took >= PRESENCE_RELEASE_MS - 50,
      `waited for the store: ${took}`,
    );
    assert.ok(
      took < PRESENCE_RELEASE_MS + PRESENCE_ANNOUNCE_MS + 500,
      `stopped within its bound: ${took} ms`,
    );
    await watcher.until(
      () => JSON.stringify(watcher.names()) === '["Watcher"]',
      "Ana's leave announced",
    );
  });
});

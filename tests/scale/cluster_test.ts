/**
 * "Several processes + Redis", end to end: two real server processes
 * (`deno run main.ts`, CHANNEL_LAYER=redis) on one KV file and one real
 * redis-server, all on 127.0.0.1. Messages and presence span the processes;
 * a process killed with SIGKILL loses nothing (its readers resume on the
 * other one, its users leave presence within the bound); a Redis killed and
 * restarted under traffic loses nothing acknowledged. Every wait is for a
 * frame, an acknowledgement or a process exit, each with a timeout.
 */
import assert from "node:assert/strict";
import { emptyPresence, nextPresence } from "../../lib/chat/presence.ts";
import type { PresenceState } from "../../lib/chat/types.ts";
import { PRESENCE_BEAT_MS } from "../../lib/chat/presence_tracker.ts";
import type { ServerFrame } from "../../lib/chat/protocol.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";
import { PRESENCE_TTL_MS } from "../../lib/store/types.ts";
import { guestCookie } from "../../support/guest.ts";
import { type ServerProcess, spawnServer } from "../_helpers/process.ts";
import { RecoveringReader } from "../_helpers/recovering_reader.ts";
import { startRedis, type TestRedis } from "../../support/redis.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { WAIT_MS } from "../../support/wait.ts";

/** A dead instance's connections leave presence within this (see lib/store/types.ts). */
const PRESENCE_BOUND_MS = PRESENCE_TTL_MS + 2 * PRESENCE_BEAT_MS;

/** Two server processes on one KV file and one Redis. */
interface Cluster {
  redis: TestRedis;
  a: ServerProcess;
  b: ServerProcess;
  /** Opens a socket to `room` on `server`; closed by the fixture at the end. */
  connect(
    server: ServerProcess,
    room: string,
    cookie: string,
  ): Promise<TestClient>;
}

/** A test body run against a fresh cluster, torn down whatever happens. */
function inCluster(
  fn: (cluster: Cluster) => Promise<void>,
): () => Promise<void> {
  return () => withCluster(fn);
}

async function withCluster(fn: (cluster: Cluster) => Promise<void>) {
  const redis = await startRedis();
  const dir = await Deno.makeTempDir({ prefix: "roomcast-cluster-" });
  const servers: ServerProcess[] = [];
  const clients: TestClient[] = [];
  try {
    const env = {
      CHANNEL_LAYER: "redis",
      REDIS_URL: redis.url,
      KV_PATH: `${dir}/shared.kv`,
      // Senders pipeline well past the default burst of 20.
      RATE_LIMIT_BURST: "1000",
    };
    const started = await Promise.allSettled([
      spawnServer(env),
      spawnServer(env),
    ]);
    for (const s of started) {
      if (s.status === "fulfilled") servers.push(s.value);
    }
    for (const s of started) if (s.status === "rejected") throw s.reason;
    await fn({
      redis,
      a: servers[0],
      b: servers[1],
      async connect(server, room, cookie) {
        const client = await TestClient.connect(
          `ws://127.0.0.1:${server.port}/ws/chat/${room}`,
          { cookie, origin: server.origin },
        );
        clients.push(client);
        return client;
      },
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.kill("SIGKILL")));
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The first frame (received so far or later) matching `test`. */
async function frame<T extends ServerFrame = ServerFrame>(
  client: TestClient,
  test: (f: ServerFrame) => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  await client.until(() => client.frames.some(test), what, timeoutMs);
  return client.frames.find(test) as T;
}

const welcomeOf = (client: TestClient) =>
  frame<Extract<ServerFrame, { type: "welcome" }>>(
    client,
    (f) => f.type === "welcome",
    "welcome",
  );

/** A client's view of who is in the room: the `state` frame, then every diff applied. */
class PresenceView {
  state: PresenceState = emptyPresence();
  /** Every `presence` frame in arrival order. */
  readonly frames: Extract<ServerFrame, { type: "presence" }>[] = [];

  constructor(client: TestClient) {
    client.frames.forEach((f) => this.#apply(f));
    client.socket.addEventListener(
      "message",
      () => this.#apply(client.frames[client.frames.length - 1]),
    );
  }

  #apply(f: ServerFrame): void {
    if (f.type !== "presence") return;
    this.frames.push(f);
    this.state = nextPresence(this.state, f);
  }

  /** Present user ids, sorted. */
  users(): string[] {
    return Object.keys(this.state).sort();
  }

  /** Connection names of `userId`. */
  conns(userId: string): string[] {
    return (this.state[userId]?.metas ?? []).map((m) => m.conn);
  }
}

/** Sends messages on one socket and records which were acknowledged (its own `message` echo). */
class Sender {
  /** clientId → seq of every acknowledged message. */
  readonly acked = new Map<string, number>();
  readonly sent: string[] = [];

  constructor(readonly client: TestClient, readonly prefix: string) {
    client.socket.addEventListener("message", () => {
      const f = client.frames[client.frames.length - 1];
      if (f.type === "message" && f.message.clientId.startsWith(prefix)) {
        this.acked.set(f.message.clientId, f.message.seq);
      }
    });
  }

  /** Pipelines `n` messages without waiting; returns their clientIds. */
  send(n: number): string[] {
    const ids = Array.from(
      { length: n },
      (_, i) => `${this.prefix}${this.sent.length + i}`,
    );
    for (const id of ids) {
      this.client.send({ type: "message", text: `text ${id}`, clientId: id });
    }
    this.sent.push(...ids);
    return ids;
  }

  /** Resolves once every one of `ids` is acknowledged. */
  acks(ids: readonly string[]): Promise<void> {
    return this.client.until(
      () => ids.every((id) => this.acked.has(id)),
      `${this.prefix}: ${
        ids.filter((id) => this.acked.has(id)).length
      } of ${ids.length} acknowledged`,
    );
  }
}

/** The room's whole stored history from `origin`, page by page (GET …/messages?after=). */
async function stored(
  origin: string,
  cookie: string,
  room: string,
): Promise<ChatMessage[]> {
  const all: ChatMessage[] = [];
  for (;;) {
    const after = all.at(-1)?.seq ?? 0;
    const res = await fetch(
      `${origin}/api/rooms/${room}/messages?after=${after}&limit=100`,
      { headers: { cookie } },
    );
    assert.equal(res.status, 200);
    const page = await res.json() as {
      messages: ChatMessage[];
      hasMore: boolean;
    };
    all.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return all;
  }
}

/** Asserts `messages` hold each of `ids` exactly once and nothing else, with gapless seqs from 1. */
function assertExactlyOnce(
  messages: readonly ChatMessage[],
  ids: readonly string[],
  label: string,
): void {
  assert.deepEqual(
    messages.map((m) => m.seq),
    messages.map((_, i) => i + 1),
    `${label}: gapless seq in order`,
  );
  assert.deepEqual(
    messages.map((m) => m.clientId).sort(),
    [...ids].sort(),
    `${label}: every message exactly once`,
  );
}

/** `seq:clientId` of each message, for comparing a reader with the store. */
const bySeq = (messages: readonly ChatMessage[]) =>
  messages.map((m) => `${m.seq}:${m.clientId}`);

Deno.test(
  "cluster: clients on two processes share a room: messages both ways, presence spans both",
  inCluster(async ({ a, b, connect }) => {
    const room = "duo";
    const anaCookie = await guestCookie(a.origin, "Ana");
    const benCookie = await guestCookie(b.origin, "Ben");
    const ana = await connect(a, room, anaCookie);
    const anaView = new PresenceView(ana);
    const anaId = (await welcomeOf(ana)).you.id;
    const ben = await connect(b, room, benCookie);
    const benView = new PresenceView(ben);
    const benId = (await welcomeOf(ben)).you.id;
    const both = [anaId, benId].sort();

    // Ben's snapshot (from the shared KV) has Ana on A; Ana learns of Ben
    // through a diff that only Redis can have carried from B.
    await ben.until(
      () => benView.users().join() === both.join(),
      "Ben sees both",
    );
    await ana.until(
      () => anaView.users().join() === both.join(),
      "Ana sees both",
    );
    assert.ok(anaView.frames.some((f) => f.joins?.[benId]));
    assert.deepEqual(benView.conns(anaId), anaView.conns(anaId));
    assert.deepEqual(anaView.conns(benId), benView.conns(benId));

    // Both ways at once, pipelined.
    const anaTx = new Sender(ana, "ana-");
    const benTx = new Sender(ben, "ben-");
    const fromAna = anaTx.send(5);
    const fromBen = benTx.send(5);
    const all = [...fromAna, ...fromBen];
    const got = (client: TestClient) => () =>
      all.every((id) =>
        client.frames.some((f) =>
          f.type === "message" && f.message.clientId === id
        )
      );
    await Promise.all([
      ana.until(got(ana), "Ana has all 10"),
      ben.until(got(ben), "Ben has all 10"),
    ]);
    const messages = (client: TestClient) =>
      client.frames.flatMap((f) => f.type === "message" ? [f.message] : []);
    for (const [name, client] of [["Ana", ana], ["Ben", ben]] as const) {
      // Exactly once: no Redis echo of a process' own publishes.
      assertExactlyOnce(
        [...messages(client)].sort((x, y) => x.seq - y.seq),
        all,
        name,
      );
    }
    assert.deepEqual(
      messages(ana).find((m) => m.clientId === "ben-0")?.user.name,
      "Ben",
    );
    assertExactlyOnce(await stored(b.origin, anaCookie, room), all, "store");

    // Ben leaves B; Ana sees it on A.
    await ben.close();
    await ana.until(
      () => anaView.users().join() === anaId,
      "Ana sees Ben leave",
    );
  }),
);

Deno.test(
  "cluster: SIGKILL of a process under traffic: its reader resumes on the other with every message once; its users leave presence",
  inCluster(async ({ a, b, connect }) => {
    const room = "failover";
    const [senderCookie, readerCookie, lurkerCookie] = await Promise.all([
      guestCookie(b.origin, "Sender"),
      guestCookie(a.origin, "Reader"),
      guestCookie(a.origin, "Lurker"),
    ]);
    const onB = await connect(b, room, senderCookie);
    const view = new PresenceView(onB);
    const tx = new Sender(onB, "m-");
    const senderId = (await welcomeOf(onB)).you.id;
    const reader = new RecoveringReader();
    const readerOnA = await connect(a, room, readerCookie);
    reader.attach(readerOnA);
    const readerId = (await welcomeOf(readerOnA)).you.id;
    const lurker = await connect(a, room, lurkerCookie);
    const lurkerId = (await welcomeOf(lurker)).you.id;
    await onB.until(
      () =>
        view.users().join() === [senderId, readerId, lurkerId].sort().join(),
      "B sees A's users",
    );
    const onA = new Set([...view.conns(readerId), ...view.conns(lurkerId)]);
    assert.equal(onA.size, 2);

    // 30 pipelined from B; A dies by SIGKILL once its reader has 10.
    const first = tx.send(30);
    await reader.whole(10);
    const killedAt = performance.now();
    const status = await a.kill("SIGKILL");
    assert.equal(status.signal, "SIGKILL");
    await Promise.all([readerOnA.closed, lurker.closed]);
    const seenOnA = reader.timeline.contiguous;
    assert.ok(seenOnA >= 10 && seenOnA <= 30, `reader got ${seenOnA} on A`);
    // B's sweep announces A's connections leaving; it must come within the bound.
    const ghostsGone = onB.until(
      () =>
        view.users().includes(lurkerId) === false &&
        [...onA].every((conn) => !view.conns(readerId).includes(conn)),
      "A's connections leave presence on B",
      PRESENCE_BOUND_MS + 5_000,
    ).then(() => performance.now() - killedAt);
    ghostsGone.catch(() => {/* awaited below */});
    await tx.acks(first);

    // 60 more while the reader is away: more than the welcome's history
    // window (50) can cover, so the reader must resume from its contiguous seq.
    const away = tx.send(60);
    await tx.acks(away);

    const resumesBefore = reader.resumes.length;
    const readerOnB = await connect(b, room, readerCookie);
    reader.attach(readerOnB);
    // Traffic goes on while the reader rejoins.
    const after = tx.send(20);
    await tx.acks(after);
    const sent = [...first, ...away, ...after];
    await reader.whole(sent.length);
    assert.equal(
      reader.resumes[resumesBefore],
      seenOnA,
      "resumed from the seq it had contiguously on A",
    );

    const truth = await stored(b.origin, senderCookie, room);
    assertExactlyOnce(truth, sent, "store");
    assert.deepEqual(bySeq(reader.timeline.messages), bySeq(truth), "reader");
    for (const [id, seq] of tx.acked) {
      assert.equal(truth[seq - 1].clientId, id, `acknowledged ${id} stored`);
    }

    // Presence on B: A's connections are gone, the reader is back (on B only).
    const elapsed = await ghostsGone;
    assert.ok(
      elapsed <= PRESENCE_BOUND_MS,
      `ghosts left after ${Math.round(elapsed)} ms`,
    );
    await onB.until(
      () => view.conns(readerId).length === 1,
      "the reader's connection on B in presence",
    );
    assert.deepEqual(view.users(), [senderId, readerId].sort());
    assert.ok(!onA.has(view.conns(readerId)[0]));
  }),
);

Deno.test(
  "cluster: Redis killed and restarted under traffic: delivery resumes, clients resync, nothing acknowledged is lost",
  inCluster(async ({ redis, a, b, connect }) => {
    const room = "outage";
    const [anaCookie, benCookie] = await Promise.all([
      guestCookie(a.origin, "Ana"),
      guestCookie(b.origin, "Ben"),
    ]);
    const ana = await connect(a, room, anaCookie);
    const anaReader = new RecoveringReader();
    anaReader.attach(ana);
    const anaTx = new Sender(ana, "ana-");
    const ben = await connect(b, room, benCookie);
    const benReader = new RecoveringReader();
    benReader.attach(ben);
    const benTx = new Sender(ben, "ben-");
    await Promise.all([welcomeOf(ana), welcomeOf(ben)]);
    const both = (n: number) => [anaTx.send(n), benTx.send(n)].flat();
    const acks = (sent: string[]) =>
      Promise.all([
        anaTx.acks(sent.filter((id) => id.startsWith("ana-"))),
        benTx.acks(sent.filter((id) => id.startsWith("ben-"))),
      ]);
    const live = (client: TestClient, id: string) =>
      client.frames.some((f) =>
        f.type === "message" && f.message.clientId === id
      );

    // Redis up: live both ways.
    const before = both(5);
    await Promise.all([anaReader.whole(10), benReader.whole(10)]);

    // Redis dies with messages in flight.
    const inFlight = both(10);
    await redis.kill();
    await acks(inFlight);
    // Redis down: still stored and acknowledged, but only local members hear them.
    const down = both(5);
    await acks(down);
    for (const id of down) {
      assert.equal(live(ana, id), id.startsWith("ana-"), `ana live ${id}`);
      assert.equal(live(ben, id), id.startsWith("ben-"), `ben live ${id}`);
    }

    // Redis restarts on the same port with messages in flight.
    const restarting = both(10);
    await redis.restart();
    await acks(restarting);
    // Each process tells its clients to resync once it is back on Redis.
    await Promise.all([
      ana.until(() => anaReader.resyncs > 0, "resync on A"),
      ben.until(() => benReader.resyncs > 0, "resync on B"),
    ]);

    // Delivery is live again, both ways. A resync proves the receiving
    // side re-subscribed, not that the sending side's publisher is back:
    // a probe published too early is dropped and then recovered through
    // the store (its process publishes a resync once back), so probe
    // until one arrives as a live `message` frame.
    const liveAgain = async (
      tx: Sender,
      other: TestClient,
      otherReader: RecoveringReader,
    ) => {
      const probes: string[] = [];
      while (probes.length < 10) {
        const [id] = tx.send(1);
        probes.push(id);
        await tx.acks([id]);
        await other.until(
          () => otherReader.timeline.messages.some((m) => m.clientId === id),
          `probe ${id} reaches the other process`,
        );
        if (live(other, id)) return probes;
      }
      throw new Error(`${tx.prefix}: no probe delivered live`);
    };
    const resumed = (await Promise.all([
      liveAgain(anaTx, ben, benReader),
      liveAgain(benTx, ana, anaReader),
    ])).flat();

    const sent = [...before, ...inFlight, ...down, ...restarting, ...resumed];
    assert.equal(anaTx.acked.size + benTx.acked.size, sent.length);
    await Promise.all([
      anaReader.whole(sent.length),
      benReader.whole(sent.length),
    ]);
    const truth = await stored(a.origin, anaCookie, room);
    assertExactlyOnce(truth, sent, "store");
    for (const tx of [anaTx, benTx]) {
      for (const [id, seq] of tx.acked) {
        assert.equal(truth[seq - 1].clientId, id, `acknowledged ${id}`);
      }
    }
    assert.deepEqual(bySeq(anaReader.timeline.messages), bySeq(truth), "on A");
    assert.deepEqual(bySeq(benReader.timeline.messages), bySeq(truth), "on B");
  }),
);

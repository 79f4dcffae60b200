/**
 * Presence and typing over real sockets: one entry per person, leaves only
 * with the last connection, across workers, ghosts swept after a crash;
 * typing relayed to others only, rate-limited; the lobby counts people.
 */
import assert from "node:assert/strict";
import {
  emptyPresence,
  nextPresence,
  presentUsers,
} from "../../../../lib/chat/presence.ts";
import type { PresenceState } from "../../../../lib/chat/types.ts";
import type { ServerFrame } from "../../../../lib/chat/protocol.ts";
import { TYPING_TTL_MS } from "../../../../lib/chat/protocol.ts";
import { TYPING_BURST } from "../../../../lib/chat/rate_limit.ts";
import { PRESENCE_TTL_MS } from "../../../../lib/store/types.ts";
import { PRESENCE_BEAT_MS } from "../../../../lib/chat/presence_tracker.ts";
import { startServer, TEST_SECRET } from "../../../_helpers/server.ts";
import { TestClient } from "../../../_helpers/ws_client.ts";
import { guestCookie } from "../../../../support/guest.ts";
import { startWorker } from "../../../_helpers/instances.ts";
import { eventually, Signal, WAIT_MS } from "../../../../support/wait.ts";
import { KvMessageStore } from "../../../../lib/store/messages.ts";
import { CloseCode } from "../../../../lib/shared.ts";

/** Follows presence frames on a client and resolves when a condition on the names holds. */
class PresenceView {
  state: PresenceState = emptyPresence();
  readonly #signal = new Signal();

  constructor(client: TestClient) {
    const apply = (f: ServerFrame) => {
      if (f.type !== "presence") return;
      this.state = nextPresence(this.state, f);
      this.#signal.notify();
    };
    client.frames.forEach(apply);
    client.socket.addEventListener(
      "message",
      () => apply(client.frames[client.frames.length - 1]),
    );
  }

  names(): string[] {
    return presentUsers(this.state).map((u) => u.name).sort();
  }

  /** Resolves once `test` holds for the names present, re-checked on every presence frame. */
  until(
    test: (names: string[]) => boolean,
    timeoutMs?: number,
  ): Promise<void> {
    return this.#signal.until(
      () => test(this.names()),
      () => `presence, now ${JSON.stringify(this.names())}`,
      timeoutMs,
    );
  }
}

const same = (expected: string[]) => (names: string[]) =>
  JSON.stringify(names) === JSON.stringify(expected);

Deno.test("two tabs of one user are one presence entry; closing one keeps it, closing both removes it", async () => {
  const server = await startServer();
  try {
    const ana = await server.guest("Ana");
    const ben = await server.guest("Ben");
    const opts = (cookie: string) => ({ cookie, origin: server.origin });
    const watcher = await TestClient.connect(
      server.wsUrl("p"),
      opts(ben.cookie),
    );
    const view = new PresenceView(watcher);
    await view.until(same(["Ben"]));
    const tab1 = await TestClient.connect(server.wsUrl("p"), opts(ana.cookie));
    const tab2 = await TestClient.connect(server.wsUrl("p"), opts(ana.cookie));
    await view.until((n) =>
      same(["Ana", "Ben"])(n) && view.state[ana.user.id]?.metas.length === 2
    );
    assert.deepEqual(view.names(), ["Ana", "Ben"]);
    // The newcomer gets the full state right after welcome.
    const state = await tab2.next((f) =>
      f.type === "presence" && f.state !== undefined
    );
    assert.ok(state.type === "presence" && state.state?.[ben.user.id]);

    await tab1.close();
    await view.until((n) =>
      same(["Ana", "Ben"])(n) && view.state[ana.user.id]?.metas.length === 1
    );
    await tab2.close();
    await view.until(same(["Ben"]));
    await watcher.close();
  } finally {
    await server.close();
  }
});

Deno.test("typing reaches the others with a ttl, never the typist, and a flood is dropped without a warning", async () => {
  const server = await startServer();
  try {
    const ana = await server.guest("Ana");
    const ben = await server.guest("Ben");
    const typist = await TestClient.connect(server.wsUrl("t"), {
      cookie: ana.cookie,
      origin: server.origin,
    });
    const typistTab2 = await TestClient.connect(server.wsUrl("t"), {
      cookie: ana.cookie,
      origin: server.origin,
    });
    const other = await TestClient.connect(server.wsUrl("t"), {
      cookie: ben.cookie,
      origin: server.origin,
    });
    for (const c of [typist, typistTab2, other]) await c.nextOf("welcome");

    typist.send({ type: "typing" });
    const seen = await other.nextOf("typing");
    assert.equal(seen.name, "Ana");
    assert.equal(seen.userId, ana.user.id);
    assert.equal(seen.ttl, TYPING_TTL_MS);
    // The typist's own sockets get the message that follows, but no typing frame before it.
    typist.send({ type: "message", text: "done typing", clientId: "t1" });
    await typist.nextOf("message");
    await typistTab2.nextOf("message");
    assert.ok(!typist.frames.some((f) => f.type === "typing"));
    assert.ok(!typistTab2.frames.some((f) => f.type === "typing"));
    // Typing is never stored.
    assert.deepEqual(
      (await server.services.store.recent("t", 10)).messages.map((m) => m.text),
      ["done typing"],
    );

    const typingBefore = other.frames.filter((f) => f.type === "typing").length;
    for (let i = 0; i < 10; i++) typist.send({ type: "typing" });
    // A message after the flood marks the end of what the flood caused.
    typist.send({ type: "message", text: "after the flood", clientId: "t2" });
    await other.next((f) =>
      f.type === "message" && f.message.text === "after the flood"
    );
    const relayed = other.frames.filter((f) => f.type === "typing").length -
      typingBefore;
    assert.ok(relayed < 10, `only the burst is relayed (${relayed})`);
    assert.ok(relayed <= TYPING_BURST, `${relayed} > burst ${TYPING_BURST}`);
    assert.deepEqual(
      typist.frames.filter((f) => f.type === "error"),
      [],
      "the typist is never warned about typing",
    );
    await Promise.all([typist.close(), typistTab2.close(), other.close()]);
  } finally {
    await server.close();
  }
});

Deno.test("lobby counts follow joins and leaves", async () => {
  const server = await startServer();
  const online = async (room: string) => {
    server.services.lobby.invalidate();
    const res = await fetch(`${server.origin}/api/rooms`);
    const { rooms } = await res.json();
    return rooms.find((r: { room: string }) => r.room === room)?.online ?? 0;
  };
  try {
    const ana = await server.guest("Ana");
    const ben = await server.guest("Ben");
    assert.equal(await online("busy"), 0);
    const a1 = await TestClient.connect(server.wsUrl("busy"), {
      cookie: ana.cookie,
      origin: server.origin,
    });
    const a2 = await TestClient.connect(server.wsUrl("busy"), {
      cookie: ana.cookie,
      origin: server.origin,
    });
    const b1 = await TestClient.connect(server.wsUrl("busy"), {
      cookie: ben.cookie,
      origin: server.origin,
    });
    for (const c of [a1, a2, b1]) await c.nextOf("presence");
    assert.equal(await online("busy"), 2, "two people, three sockets");
    const view = new PresenceView(a1);
    await b1.close();
    await view.until(same(["Ana"]));
    assert.equal(await online("busy"), 1);
    await Promise.all([a1.close(), a2.close()]);
    await eventually(
      () => server.services.presence.localRooms === 0,
      "the server to leave its last room",
    );
    // The untrack is written before the leave is announced; wait for the KV delete to land.
    let n = await online("busy");
    for (let i = 0; n !== 0 && i < 100; i++) n = await online("busy");
    assert.equal(n, 0);
  } finally {
    await server.close();
  }
});

Deno.test("presence spans workers, and a worker killed abruptly leaves no ghosts past the bound", async () => {
  const dir = await Deno.makeTempDir();
  const env = {
    CHANNEL_LAYER: "broadcast",
    KV_PATH: `${dir}/p.kv`,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
  };
  const one = await startWorker(env);
  const two = await startWorker(env);
  let twoStopped = false;
  try {
    const anaCookie = await guestCookie(one.origin, "Ana");
    const benCookie = await guestCookie(two.origin, "Ben");
    const onOne = await TestClient.connect(
      `ws://127.0.0.1:${one.port}/ws/chat/x`,
      { cookie: anaCookie, origin: one.origin },
    );
    const view = new PresenceView(onOne);
    const onTwo = await TestClient.connect(
      `ws://127.0.0.1:${two.port}/ws/chat/x`,
      { cookie: benCookie, origin: two.origin },
    );
    const viewTwo = new PresenceView(onTwo);
    await view.until(same(["Ana", "Ben"]));
    await viewTwo.until(same(["Ana", "Ben"]));

    // Kill worker two without any cleanup: no leave is ever sent for Ben.
    const started = Date.now();
    two.worker.terminate();
    twoStopped = true;
    await onTwo.closed;
    // The sweep removes the ghost within PRESENCE_TTL_MS + 2 beats (asserted below).
    await view.until(
      same(["Ana"]),
      PRESENCE_TTL_MS + 2 * PRESENCE_BEAT_MS + WAIT_MS,
    );
    const took = Date.now() - started;
    assert.ok(
      took <= PRESENCE_TTL_MS + 2 * PRESENCE_BEAT_MS,
      `ghost lasted ${took} ms`,
    );
    await onOne.close();
  } finally {
    await one.stop();
    if (!twoStopped) await two.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("newcomers right after one another each get the whole room, themselves included, in their one state frame: what follows is news only", async () => {
  const server = await startServer();
  try {
    const names = ["Ana", "Ben", "Cy", "Dee"];
    const cookies = await Promise.all(
      names.map((n) => guestCookie(server.origin, n)),
    );
    const opts = (cookie: string) => ({ cookie, origin: server.origin });
    const clients: TestClient[] = [];
    for (const [i, cookie] of cookies.entries()) {
      // Joined one after another within one batch window: the room's state
      // is shared and lags them (STATE_SHARED_MAX_LAG).
      const client = await TestClient.connect(server.wsUrl("q"), opts(cookie));
      clients.push(client);
      const first = await client.next((f) => f.type === "presence");
      assert.ok(first.type === "presence" && first.state, "a state first");
      assert.deepEqual(
        presentUsers(nextPresence(emptyPresence(), first)).map((u) => u.name)
          .sort(),
        names.slice(0, i + 1).sort(),
        `${names[i]}'s state frame`,
      );
    }
    // Cy's next presence frame is news: Dee, and nobody Cy already had.
    const cy = clients[2];
    const news = await cy.next((f) => f.type === "presence" && !f.state);
    assert.ok(news.type === "presence");
    assert.deepEqual(
      Object.values(news.joins ?? {}).map((e) => e.user.name),
      ["Dee"],
    );
    assert.deepEqual(Object.keys(news.leaves ?? {}), []);
    for (const c of clients) await c.close();
  } finally {
    await server.close();
  }
});

Deno.test("a socket whose welcome read fails is closed to try again and leaves presence: no ghost for the next", async () => {
  const kv = await Deno.openKv(":memory:");
  let failures = 1;
  /** The room's log, whose first welcome read fails (a store outage). */
  class FailingOnce extends KvMessageStore {
    override recent(room: string, limit: number) {
      if (failures-- > 0) return Promise.reject(new Error("store down"));
      return super.recent(room, limit);
    }
  }
  const server = await startServer({}, { store: new FailingOnce(kv) });
  try {
    const opts = (cookie: string) => ({ cookie, origin: server.origin });
    const ana = await server.guest("Ana");
    const first = await TestClient.connect(server.wsUrl("g"), opts(ana.cookie));
    const closed = await first.closed;
    assert.equal(closed.code, CloseCode.tryAgain);
    const ben = await server.guest("Ben");
    const second = await TestClient.connect(
      server.wsUrl("g"),
      opts(ben.cookie),
    );
    await new PresenceView(second).until(same(["Ben"]));
    await second.close();
  } finally {
    await server.close();
    kv.close();
  }
});

import assert from "node:assert/strict";
import {
  READ_BURST,
  READ_RATE_PER_S,
} from "../../../../lib/chat/rate_limit.ts";
import { CloseCode } from "../../../../lib/shared.ts";
import { startServer, type TestServer } from "../../../_helpers/server.ts";
import {
  handshakeStatus,
  openRawSocket,
  TestClient,
} from "../../../_helpers/ws_client.ts";
import {
  CROWD_FROM_ONE_ADDRESS,
  limitsConfig,
} from "../../../../lib/config.ts";
import { eventually, Signal } from "../../../../support/wait.ts";

Deno.test("MAX_SOCKETS_PER_USER: one more socket than allowed → 429 before the upgrade", async () => {
  const server = await startServer({ MAX_SOCKETS_PER_USER: "2" });
  try {
    const { cookie } = await server.guest("Ana");
    const opts = { cookie, origin: server.origin };
    const a = await TestClient.connect(server.wsUrl("cap"), opts);
    const b = await TestClient.connect(server.wsUrl("cap"), opts);
    await Promise.all([a.nextOf("welcome"), b.nextOf("welcome")]);
    assert.equal(await handshakeStatus(server.wsUrl("cap"), opts), 429);
    // Someone else is not affected.
    const other = await server.guest("Ben");
    assert.equal(
      await handshakeStatus(server.wsUrl("cap"), {
        cookie: other.cookie,
        origin: server.origin,
      }),
      101,
    );
    await a.close();
    await eventually(
      () => server.services.connections.size <= 1,
      "the server to handle the close",
    );
    assert.equal(await handshakeStatus(server.wsUrl("cap"), opts), 101);
    await b.close();
  } finally {
    await server.close();
  }
});

Deno.test("CONNECTS_PER_IP_PER_MINUTE caps new sockets from one address", async () => {
  const server = await startServer({ CONNECTS_PER_IP_PER_MINUTE: "3" });
  try {
    const { cookie } = await server.guest("Ana");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        await handshakeStatus(server.wsUrl("rate"), {
          cookie,
          origin: server.origin,
        }),
      );
    }
    assert.deepEqual(statuses, [101, 101, 101, 429]);
  } finally {
    await server.close();
  }
});

Deno.test("the message limit is per user too: a second tab does not double it", async () => {
  const server = await startServer({
    RATE_LIMIT_BURST: "4",
    RATE_LIMIT_PER_SECOND: "1",
  });
  try {
    const { cookie } = await server.guest("Ana");
    const tab1 = await TestClient.connect(server.wsUrl("u"), {
      cookie,
      origin: server.origin,
    });
    const tab2 = await TestClient.connect(server.wsUrl("u"), {
      cookie,
      origin: server.origin,
    });
    await Promise.all([tab1.nextOf("welcome"), tab2.nextOf("welcome")]);
    for (let i = 0; i < 3; i++) {
      tab1.send({ type: "message", text: `a${i}`, clientId: `a${i}` });
    }
    for (let i = 0; i < 3; i++) {
      tab2.send({ type: "message", text: `b${i}`, clientId: `b${i}` });
    }
    // Six sends against a shared burst of four: two are refused, whichever tab sent them.
    const refused = () =>
      [...tab1.frames, ...tab2.frames].filter((f) => f.type === "error").length;
    const stored = () => tab1.frames.filter((f) => f.type === "message").length;
    const signal = new Signal();
    for (const tab of [tab1, tab2]) {
      tab.socket.addEventListener("message", () => signal.notify());
    }
    await signal.until(
      () => refused() === 2 && stored() === 4,
      () => `2 refused and 4 stored; refused ${refused()}, stored ${stored()}`,
    );
    assert.ok(
      [...tab1.frames, ...tab2.frames].every((f) =>
        f.type !== "error" || f.code === "rate_limited"
      ),
    );
    assert.equal(await server.services.store.lastSeq("u"), 4);
    await Promise.all([tab1.close(), tab2.close()]);
  } finally {
    await server.close();
  }
});

Deno.test("/healthz, /readyz and /metrics report on the instance; responses carry a request id", async () => {
  const server = await startServer();
  try {
    const health = await fetch(`${server.origin}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(health.headers.get("x-request-id"));
    await health.body?.cancel();
    const ready = await fetch(`${server.origin}/readyz`);
    assert.deepEqual(await ready.json(), {
      ok: true,
      store: true,
      layer: true,
    });
    const { cookie } = await server.guest("Ana");
    const c = await TestClient.connect(server.wsUrl("m"), {
      cookie,
      origin: server.origin,
    });
    await c.nextOf("welcome");
    c.send({ type: "message", text: "count me", clientId: "m1" });
    await c.nextOf("message");
    const metrics = await (await fetch(`${server.origin}/metrics`)).json();
    assert.equal(metrics.connectionsOpen, 1);
    assert.equal(metrics.messagesIn, 1);
    assert.ok(metrics.framesOut >= 3, "welcome, presence and the message");
    await c.close();
  } finally {
    await server.close();
  }
});

Deno.test("/metrics is for this machine, or for the bearer of METRICS_TOKEN; anyone else gets a 404", async () => {
  const get = async (server: TestServer, headers: Record<string, string>) => {
    const res = await fetch(`${server.origin}/metrics`, { headers });
    await res.body?.cancel();
    return res.status;
  };
  // Behind a proxy on loopback, a client from elsewhere is not this machine.
  const proxied = await startServer({ TRUST_PROXY: "127.0.0.0/8,::1" });
  try {
    assert.equal(await get(proxied, {}), 200);
    assert.equal(
      await get(proxied, { "x-forwarded-for": "203.0.113.5" }),
      404,
    );
  } finally {
    await proxied.close();
  }
  const token = "metrics-token-0123456789";
  const guarded = await startServer({ METRICS_TOKEN: token });
  try {
    assert.equal(await get(guarded, {}), 404);
    assert.equal(await get(guarded, { authorization: "Bearer wrong" }), 404);
    assert.equal(
      await get(guarded, { authorization: `Bearer ${token}` }),
      200,
    );
  } finally {
    await guarded.close();
  }
});

/** Round trips of `count` messages from `client`, one at a time, in ms. */
async function roundTrips(client: TestClient, tag: string, count: number) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = `${tag}-${i}`;
    const start = performance.now();
    client.send({ type: "message", text: `ping ${i}`, clientId });
    await client.next((f) =>
      f.type === "message" && f.message.clientId === clientId
    );
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

Deno.test("a client hammering history is throttled, then closed as flooding; the room's latency is reported with and without it", async () => {
  const server = await startServer({ RATE_LIMIT_BURST: "1000" });
  try {
    const [talker, hammerer] = await Promise.all([
      server.guest("Talker"),
      server.guest("Hammer"),
    ]);
    const room = "hammered";
    const talk = await TestClient.connect(server.wsUrl(room), {
      cookie: talker.cookie,
      origin: server.origin,
    });
    await talk.nextOf("welcome");
    const quiet = await roundTrips(talk, "quiet", 40);

    const hammer = await TestClient.connect(server.wsUrl(room), {
      cookie: hammerer.cookie,
      origin: server.origin,
    });
    await hammer.nextOf("welcome");
    let sent = 0;
    let closed = false;
    hammer.closed.then(() => closed = true);
    // As fast as the socket takes them, until the server has had enough (bounded).
    const flood = (async () => {
      while (!closed && sent < 5_000) {
        hammer.send({ type: "history", before: 1_000_000, limit: 100 });
        sent++;
        if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 0));
      }
    })();
    const loud = await roundTrips(talk, "loud", 40);
    await flood;
    const close = await hammer.closed;
    // A peer still sending after the close frame gets a reset instead of
    // the close handshake (Deno), so the code may not arrive; the refusals did.
    assert.ok(
      close.code === CloseCode.rateLimited || !close.wasClean,
      `closed ${close.code}`,
    );
    const refused = hammer.frames.filter((f) =>
      f.type === "error" && f.code === "rate_limited" && f.refused === "history"
    ).length;
    assert.ok(refused > 0, "history over budget was refused");
    const pages = hammer.frames.filter((f) =>
      f.type === "history"
    ).length;
    assert.ok(pages <= READ_BURST + 5, `${pages} pages answered of ${sent}`);
    const p99 = (t: number[]) =>
      t[Math.min(t.length - 1, Math.ceil(t.length * 0.99) - 1)];
    console.log(JSON.stringify({
      historyFlood: { sent, answered: pages },
      roomRoundTripMs: {
        quietP50: +quiet[20].toFixed(1),
        quietP99: +p99(quiet).toFixed(1),
        floodedP50: +loud[20].toFixed(1),
        floodedP99: +p99(loud).toFixed(1),
      },
    }));
    await talk.close();
  } finally {
    await server.close();
  }
});

Deno.test("the per-person socket cap holds against handshakes made all at once", async () => {
  const cap = 5;
  const server = await startServer({ MAX_SOCKETS_PER_USER: String(cap) });
  try {
    const { cookie } = await server.guest("Racer");
    const opts = { cookie, origin: server.origin };
    const raws = await Promise.all(
      Array.from(
        { length: 200 },
        () => openRawSocket(server.wsUrl("race"), opts),
      ),
    );
    const accepted = raws.filter((r) => r.status === 101).length;
    const refused = raws.filter((r) => r.status === 429).length;
    for (const r of raws) r.conn.close();
    assert.equal(accepted, cap, `${accepted} accepted`);
    assert.equal(refused, 200 - cap);
  } finally {
    await server.close();
  }
});

Deno.test("guest sessions are limited per address (GUESTS_PER_IP_PER_HOUR), behind a trusted proxy per client", async () => {
  const server = await startServer({
    GUESTS_PER_IP_PER_HOUR: "3",
    TRUST_PROXY: "127.0.0.0/8,::1",
  });
  try {
    const guest = async (forwardedFor: string) => {
      const res = await fetch(`${server.origin}/api/session/guest`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: server.origin,
          "x-forwarded-for": forwardedFor,
        },
        body: JSON.stringify({ name: "Guest" }),
      });
      await res.body?.cancel();
      return res;
    };
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await guest("203.0.113.9")).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const refused = await guest("203.0.113.9");
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    // Another client behind the same proxy is not affected.
    assert.equal((await guest("198.51.100.4")).status, 200);
    // An IPv6 client is its /64: stepping through it buys no more guests.
    const sixes = [];
    for (let i = 1; i <= 4; i++) {
      sixes.push((await guest(`2001:db8:1:2::${i}`)).status);
    }
    assert.deepEqual(sixes, [200, 200, 200, 429]);
    assert.equal((await guest("2001:db8:1:3::1")).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("history reads are held per address too: 20 guests from one address get 10 people's worth, not 20", async () => {
  // The real defaults: an address counts as MESSAGES_PER_IP_PER_SECOND ÷
  // RATE_LIMIT_PER_SECOND = 10 people.
  const defaults = Object.fromEntries(
    Object.keys(CROWD_FROM_ONE_ADDRESS).map((k) => [k, ""]),
  );
  const server = await startServer(defaults);
  const clients: TestClient[] = [];
  try {
    const guests = await Promise.all(
      Array.from({ length: 20 }, (_, i) => server.guest(`Reader ${i}`)),
    );
    for (const g of guests) {
      const client = await TestClient.connect(server.wsUrl("shelf"), {
        cookie: g.cookie,
        origin: server.origin,
      });
      await client.nextOf("welcome");
      clients.push(client);
    }
    // Each asks for its whole per-person burst at once.
    const started = performance.now();
    for (const c of clients) {
      for (let i = 0; i < READ_BURST; i++) {
        c.send({ type: "history", before: 1_000_000, limit: 10 });
      }
    }
    const answers = await Promise.all(clients.map(async (c) => {
      let pages = 0;
      let refused = 0;
      while (pages + refused < READ_BURST) {
        const f = await c.next((f) =>
          f.type === "history" ||
          (f.type === "error" && f.code === "rate_limited")
        );
        if (f.type === "history") pages++;
        else refused++;
      }
      return { pages, refused };
    }));
    const seconds = (performance.now() - started) / 1000;
    const pages = answers.reduce((n, a) => n + a.pages, 0);
    const refused = answers.reduce((n, a) => n + a.refused, 0);
    // 20 × 20 asked; the address's burst is 10 × 20, refilling at 10 × 5/s
    // for as long as the asks took: never more answered than that.
    const allowed = 10 * READ_BURST + 10 * READ_RATE_PER_S * seconds;
    assert.ok(pages <= allowed + 1, `${pages} answered in ${seconds} s`);
    assert.ok(pages >= 10 * READ_BURST, `${pages} answered`);
    assert.equal(pages + refused, 20 * READ_BURST);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

Deno.test("the per-address limits are on by default", () => {
  const limits = limitsConfig({});
  assert.ok(limits.guestsPerIpPerHour > 0);
  assert.ok(limits.connectsPerIpPerMinute > 0);
  assert.ok(limits.maxSocketsPerIp > 0);
  assert.ok(limits.messagesPerIpPerSecond > 0);
  assert.ok(limits.roomMessagesPerSecond > 0);
});

Deno.test("500 guests from one address trying 10,000 posts cannot push a room's history out: most are refused, every older message stays", async () => {
  // The real defaults: lift none of the per-address or per-room budgets.
  const defaults = Object.fromEntries(
    Object.keys(CROWD_FROM_ONE_ADDRESS).map((k) => [k, ""]),
  );
  const server = await startServer({ ...defaults, HISTORY_RETENTION: "100" });
  const room = "besieged";
  const sockets: TestClient[] = [];
  try {
    const elder = (await server.guest("Elder")).user;
    for (let i = 1; i <= 100; i++) {
      await server.services.store.append({
        room,
        user: elder,
        text: `older ${i}`,
        clientId: `older-${i}`,
      });
    }
    // 500 sign-ins from one address: the per-address guest budget stops most.
    const signIns = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const res = await fetch(`${server.origin}/api/session/guest`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            origin: server.origin,
          },
          body: JSON.stringify({ name: `Bot ${i}` }),
        });
        await res.body?.cancel();
        return res.status === 200
          ? (res.headers.get("set-cookie") ?? "").split(";")[0]
          : null;
      }),
    );
    const cookies = signIns.filter((c): c is string => c !== null);
    assert.ok(cookies.length <= 60, `${cookies.length} guests made`);
    const started = performance.now();
    sockets.push(
      ...await Promise.all(
        cookies.map((cookie) =>
          TestClient.connect(server.wsUrl(room), {
            cookie,
            origin: server.origin,
          })
        ),
      ),
    );
    await Promise.all(sockets.map((s) => s.nextOf("welcome")));
    // 10,000 attempts spread over the bots, all at once.
    const perBot = Math.ceil(10_000 / sockets.length);
    sockets.forEach((s, b) => {
      for (let i = 0; i < perBot; i++) {
        s.send({
          type: "message",
          text: `spam ${b}-${i}`,
          clientId: `s${b}-${i}`,
        });
      }
    });
    await Promise.all(sockets.map((s) => s.closed));
    const seconds = (performance.now() - started) / 1000;
    const page = await server.services.store.after(room, 0, 100);
    assert.deepEqual(
      page.messages.map((m) => m.text),
      Array.from({ length: 100 }, (_, i) => `older ${i + 1}`),
      "every older message is still there",
    );
    const stored = await server.services.store.lastSeq(room) - 100;
    // The address's budget (60 at once, then 20/s) bounds what got in.
    assert.ok(
      stored <= 60 + 20 * seconds + 20,
      `${stored} stored in ${seconds.toFixed(1)} s`,
    );
    assert.ok(stored < 10_000 / 10, "most posts were refused");
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.close();
  }
});

Deno.test("request ids are the server's own: a client-chosen X-Request-Id is neither echoed nor logged", async () => {
  const server = await startServer();
  try {
    const chosen = "attacker-chosen-id-0123456789";
    const res = await fetch(`${server.origin}/healthz`, {
      headers: { "x-request-id": chosen },
    });
    await res.body?.cancel();
    const id = res.headers.get("x-request-id") ?? "";
    assert.notEqual(id, chosen);
    assert.match(id, /^[0-9a-f-]{36}$/);
  } finally {
    await server.close();
  }
});

Deno.test("a person's socket and HTTP posts draw from one message budget", async () => {
  const server = await startServer({
    RATE_LIMIT_BURST: "3",
    RATE_LIMIT_PER_SECOND: "1",
  });
  try {
    const { cookie } = await server.guest("Both");
    const socket = await TestClient.connect(server.wsUrl("shared"), {
      cookie,
      origin: server.origin,
    });
    await socket.nextOf("welcome");
    for (let i = 0; i < 3; i++) {
      socket.send({ type: "message", text: `ws ${i}`, clientId: `ws-${i}` });
      await socket.next((f) =>
        f.type === "message" && f.message.clientId === `ws-${i}`
      );
    }
    const res = await fetch(`${server.origin}/api/rooms/shared/messages`, {
      method: "POST",
      headers: {
        cookie,
        origin: server.origin,
        "content-type": "application/json",
      },
      body: JSON.stringify({ text: "over http", clientId: "http-1" }),
    });
    await res.body?.cancel();
    assert.equal(res.status, 429, "the socket spent the person's burst");
    await socket.close();
  } finally {
    await server.close();
  }
});

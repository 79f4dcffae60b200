import assert from "node:assert/strict";
import { startServer } from "../../../_helpers/server.ts";
import { handshakeStatus, TestClient } from "../../../_helpers/ws_client.ts";
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

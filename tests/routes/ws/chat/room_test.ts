import assert from "node:assert/strict";
import {
  INVALID_BURST,
  MAX_RATE_VIOLATIONS,
  READ_BURST,
} from "../../../../lib/chat/rate_limit.ts";
import { CloseCode } from "../../../../lib/shared.ts";
import { startServer } from "../../../_helpers/server.ts";
import {
  handshakeStatus,
  openRawSocket,
  refusedHandshake,
  TestClient,
} from "../../../_helpers/ws_client.ts";
import { ROUTE_ERRORS } from "../../../../lib/web/errors.ts";
import { eventually } from "../../../../support/wait.ts";
import {
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CHARS,
} from "../../../../lib/chat/protocol.ts";

Deno.test("messages reach every client of their room and no other room", async () => {
  const server = await startServer();
  try {
    const ana = await server.guest("Ana");
    const ben = await server.guest("Ben");
    const cy = await server.guest("Cy");
    const opts = (g: { cookie: string }) => ({
      cookie: g.cookie,
      origin: server.origin,
    });
    const a1 = await TestClient.connect(server.wsUrl("a"), opts(ana));
    const a2 = await TestClient.connect(server.wsUrl("a"), opts(ben));
    const b1 = await TestClient.connect(server.wsUrl("b"), opts(cy));
    for (const c of [a1, a2, b1]) await c.nextOf("welcome");

    a1.send({ type: "message", text: "hello a", clientId: "c-1" });
    a2.send({ type: "message", text: "reply a", clientId: "c-2" });
    for (const client of [a1, a2]) {
      const got = [
        (await client.nextOf("message")).message,
        (await client.nextOf("message")).message,
      ];
      assert.deepEqual(got.map((m) => m.text).sort(), ["hello a", "reply a"]);
      assert.deepEqual(got.map((m) => m.room), ["a", "a"]);
      const hello = got.find((m) => m.text === "hello a")!;
      assert.equal(hello.user.name, "Ana");
      assert.equal(typeof hello.ts, "number");
      assert.ok(hello.id);
    }
    // b's first message frame is its own marker: nothing from room a came before it.
    b1.send({ type: "message", text: "marker b", clientId: "c-3" });
    assert.equal((await b1.nextOf("message")).message.text, "marker b");
    assert.ok(
      !b1.frames.some((f) => f.type === "message" && f.message.room === "a"),
    );
    await Promise.all([a1.close(), a2.close(), b1.close()]);
  } finally {
    await server.close();
  }
});

Deno.test("a closed socket leaves the group: later sends reach only live members", async () => {
  const server = await startServer();
  try {
    const g = await server.guest("Ana");
    const opts = { cookie: g.cookie, origin: server.origin };
    const stay = await TestClient.connect(server.wsUrl("room"), opts);
    const leave = await TestClient.connect(server.wsUrl("room"), opts);
    await stay.nextOf("welcome");
    await leave.nextOf("welcome");
    assert.equal(server.services.layer.localMembers("room"), 2);
    await leave.close();
    // The server sees the close asynchronously; wait for membership to drop.
    await eventually(
      () => server.services.layer.localMembers("room") === 1,
      "the server to handle the close",
    );
    stay.send({ type: "message", text: "after close", clientId: "x1" });
    assert.equal((await stay.nextOf("message")).message.text, "after close");
    await stay.close();
    await eventually(
      () => server.services.layer.localGroups() === 0,
      "the server to handle the close",
    );
    assert.equal(server.services.connections.size, 0);
  } finally {
    await server.close();
  }
});

Deno.test("handshake: bad room → 400, no session → 401, foreign or missing Origin → 403, a target naming another host → 404", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Ana");
    const url = (room: string) => server.wsUrl(room);
    assert.equal(
      await handshakeStatus(url("Bad%20Room!"), {
        cookie,
        origin: server.origin,
      }),
      400,
    );
    assert.equal(
      await handshakeStatus(url("x".repeat(65)), {
        cookie,
        origin: server.origin,
      }),
      400,
    );
    assert.equal(
      await handshakeStatus(url("a"), { origin: server.origin }),
      401,
    );
    assert.equal(
      await handshakeStatus(url("a"), {
        cookie: "roomcast_session=forged.token.here",
        origin: server.origin,
      }),
      401,
    );
    assert.equal(
      await handshakeStatus(url("a"), {
        cookie,
        origin: "https://evil.example",
      }),
      403,
    );
    assert.equal(await handshakeStatus(url("a"), { cookie }), 403);
    // A target a URL resolver would take for another host is the path it
    // says (no route), not that host's socket: its Origin passed the check.
    const port = new URL(server.origin).port;
    assert.equal(
      await handshakeStatus(`ws://127.0.0.1:${port}//evil.example/ws/chat/a`, {
        cookie,
        origin: "http://evil.example",
      }),
      404,
    );
    assert.equal(
      await handshakeStatus(url("a"), { cookie, origin: server.origin }),
      101,
    );
  } finally {
    await server.close();
  }
});

Deno.test("handshake: ?after= that is not a seq → 400 bad_after, before the upgrade; a seq, or none, upgrades", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Ana");
    const headers = { cookie, origin: server.origin };
    const url = (after: string) =>
      `${server.wsUrl("a")}?after=${encodeURIComponent(after)}`;
    for (
      const bad of [
        "-1",
        "1.5",
        "abc",
        "",
        "1e3",
        " 7",
        "0x10",
        "9007199254740992", // 2^53: past the safe integers
        "99999999999999999999",
      ]
    ) {
      assert.deepEqual(
        await refusedHandshake(url(bad), headers),
        {
          status: 400,
          body: { error: "bad_after", message: ROUTE_ERRORS.bad_after.message },
        },
        JSON.stringify(bad),
      );
    }
    for (const good of ["0", "42", "9007199254740991"]) {
      assert.equal(await handshakeStatus(url(good), headers), 101, good);
    }
    assert.equal(await handshakeStatus(server.wsUrl("a"), headers), 101);
  } finally {
    await server.close();
  }
});

Deno.test("ALLOWED_ORIGINS widens the Origin allowlist", async () => {
  const server = await startServer({
    ALLOWED_ORIGINS: "https://chat.example.com",
  });
  try {
    const { cookie } = await server.guest("Ana");
    assert.equal(
      await handshakeStatus(server.wsUrl("a"), {
        cookie,
        origin: "https://chat.example.com",
      }),
      101,
    );
    assert.equal(
      await handshakeStatus(server.wsUrl("a"), {
        cookie,
        origin: "https://other.example.com",
      }),
      403,
    );
  } finally {
    await server.close();
  }
});

Deno.test("bad frames get an error frame and the socket stays usable", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Ana");
    const c = await TestClient.connect(server.wsUrl("a"), {
      cookie,
      origin: server.origin,
    });
    await c.nextOf("welcome");
    const cases: [unknown, string][] = [
      ["{not json", "bad_json"],
      ["[1,2]", "bad_frame"],
      [{ type: "dance" }, "unknown_type"],
      [{ text: "no type" }, "bad_frame"],
      [{ type: "message", text: "   ", clientId: "e1" }, "empty_text"],
      [{
        type: "message",
        text: "x".repeat(MAX_MESSAGE_CHARS + 1),
        clientId: "e2",
      }, "text_too_long"],
      [{ type: "message", text: 42, clientId: "e3" }, "bad_frame"],
      [{ type: "message", text: "hi" }, "bad_frame"],
      ["y".repeat(MAX_FRAME_BYTES + 1), "frame_too_large"],
      [{ type: "resume", after: -1 }, "bad_frame"],
      [{ type: "history", before: 10, limit: 10_000 }, "bad_frame"],
    ];
    for (const [frame, code] of cases) {
      c.send(frame);
      const err = await c.nextOf("error");
      assert.equal(err.code, code, `frame ${String(frame).slice(0, 40)}`);
      assert.ok(err.message.length > 0);
    }
    c.socket.send(new Uint8Array([1, 2, 3]));
    assert.equal((await c.nextOf("error")).code, "binary_unsupported");
    c.send({ type: "message", text: "still here", clientId: "ok-1" });
    assert.equal((await c.nextOf("message")).message.text, "still here");
    assert.equal(c.socket.readyState, WebSocket.OPEN);
    await c.close();
  } finally {
    await server.close();
  }
});

Deno.test("welcome carries the user, room and recent history", async () => {
  const server = await startServer();
  try {
    const { cookie, user } = await server.guest("Ana");
    const first = await TestClient.connect(server.wsUrl("hist"), {
      cookie,
      origin: server.origin,
    });
    const w1 = await first.nextOf("welcome");
    assert.deepEqual(w1.you, user);
    assert.equal(w1.room, "hist");
    assert.equal(w1.lastSeq, 0);
    first.send({ type: "message", text: "remember me", clientId: "r1" });
    await first.nextOf("message");
    await first.close();
    const second = await TestClient.connect(server.wsUrl("hist"), {
      cookie,
      origin: server.origin,
    });
    const w2 = await second.nextOf("welcome");
    assert.equal(w2.lastSeq, 1);
    assert.deepEqual(w2.history.map((m) => m.text), ["remember me"]);
    await second.close();
  } finally {
    await server.close();
  }
});

Deno.test("heartbeat: every ping is answered with a pong, so a client can tell a live path from a dead one", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Ana");
    const client = await TestClient.connect(server.wsUrl("beat"), {
      cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    for (let i = 0; i < 3; i++) {
      client.send({ type: "ping" });
      await client.nextOf("pong");
    }
    await client.close();
  } finally {
    await server.close();
  }
});

Deno.test("welcome tells the client its message budget, so it can pace an outbox flush", async () => {
  const server = await startServer({
    RATE_LIMIT_BURST: "7",
    RATE_LIMIT_PER_SECOND: "3",
  });
  try {
    const { cookie } = await server.guest("Ana");
    const client = await TestClient.connect(server.wsUrl("budget"), {
      cookie,
      origin: server.origin,
    });
    assert.deepEqual((await client.nextOf("welcome")).rate, {
      burst: 7,
      perSecond: 3,
    });
    await client.close();
  } finally {
    await server.close();
  }
});

Deno.test("a refused message's error names it by clientId, so the client knows which one to retry", async () => {
  const server = await startServer({ RATE_LIMIT_BURST: "1" });
  try {
    const { cookie } = await server.guest("Ana");
    const client = await TestClient.connect(server.wsUrl("refused"), {
      cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    client.send({ type: "message", text: "one", clientId: "m-1" });
    client.send({ type: "message", text: "two", clientId: "m-2" });
    const error = await client.nextOf("error");
    assert.equal(error.code, "rate_limited");
    assert.equal(error.clientId, "m-2");
    assert.ok(error.retryAfter! > 0);
    await client.close();
  } finally {
    await server.close();
  }
});

Deno.test("history reads are budgeted per person: past the burst a read is refused rate_limited, named, with a wait", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Reader");
    const client = await TestClient.connect(server.wsUrl("reads"), {
      cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    for (let i = 0; i <= READ_BURST; i++) {
      client.send({ type: "history", before: 1_000, limit: 10 });
    }
    const refused = await client.nextOf("error");
    assert.equal(refused.code, "rate_limited");
    assert.equal(refused.refused, "history");
    assert.ok(refused.retryAfter! > 0 && refused.retryAfter! <= 1_000);
    const pages = client.frames.filter((f) => f.type === "history");
    assert.ok(pages.length <= READ_BURST, `${pages.length} pages`);
    // A second socket of the same person shares the budget.
    const second = await TestClient.connect(server.wsUrl("reads"), {
      cookie,
      origin: server.origin,
    });
    await second.nextOf("welcome");
    second.send({ type: "resume", after: 0 });
    const shared = await second.nextOf("error");
    assert.equal(shared.refused, "resume");
    await client.close();
    await second.close();
  } finally {
    await server.close();
  }
});

Deno.test("a malformed upgrade is the client's error: 400, not 500", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Ana");
    const url = new URL(server.wsUrl("bad"));
    for (
      const extra of [
        ["Sec-WebSocket-Version: 13"], // no key
      ]
    ) {
      const conn = await Deno.connect({
        hostname: url.hostname,
        port: Number(url.port),
      });
      const request = [
        `GET ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Origin: ${server.origin}`,
        `Cookie: ${cookie}`,
        ...extra,
        "",
        "",
      ].join("\r\n");
      await conn.write(new TextEncoder().encode(request));
      const buf = new Uint8Array(512);
      const n = await conn.read(buf);
      conn.close();
      const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
      assert.match(
        head,
        /^HTTP\/1\.1 400/,
        `${extra.join(" ")}: ${head.split("\r\n")[0]}`,
      );
    }
  } finally {
    await server.close();
  }
});

Deno.test("a peer spraying invalid frames gets its errors, then is closed as flooding (4029)", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Sprayer");
    const client = await TestClient.connect(server.wsUrl("spray"), {
      cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    // All at once, so the bucket cannot refill in between; nothing after the last.
    const total = INVALID_BURST + MAX_RATE_VIOLATIONS + 1;
    for (let i = 0; i < total; i++) client.socket.send("{not json");
    const closed = await client.closed;
    assert.equal(closed.code, CloseCode.rateLimited);
    const errors = client.frames.filter((f) =>
      f.type === "error" && f.code === "bad_json"
    ).length;
    assert.equal(errors, total - 1, "each frame before the close was answered");
  } finally {
    await server.close();
  }
});

Deno.test("a malformed upgrade (no Sec-WebSocket-Key) is a 400, on either listener", async () => {
  for (const LISTENER of ["guarded", "deno"]) {
    const server = await startServer({ LISTENER });
    try {
      const { cookie } = await server.guest("Ana");
      const url = new URL(server.wsUrl("general"));
      const conn = await Deno.connect({
        hostname: url.hostname,
        port: Number(url.port),
      });
      try {
        await conn.write(new TextEncoder().encode(
          `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
            "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n` +
            `Origin: ${server.origin}\r\n\r\n`,
        ));
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        assert.match(head, /^HTTP\/1\.1 400 /, LISTENER);
      } finally {
        conn.close();
      }
    } finally {
      await server.close();
    }
  }
});

/** Frames a flooding client sends at once: far more than the budget and the refusals before the close. */
const FLOOD_FRAMES = 300;

for (const LISTENER of ["guarded", "deno"]) {
  Deno.test(`LISTENER=${LISTENER}: a socket closed for flooding while its frames still arrive gets its rate_limited errors and the close 4029, not a reset`, async () => {
    const server = await startServer({ LISTENER });
    try {
      const { cookie } = await server.guest("Flooder");
      const client = await TestClient.connect(server.wsUrl("flood"), {
        cookie,
        origin: server.origin,
      });
      await client.nextOf("welcome");
      for (let i = 0; i < FLOOD_FRAMES; i++) {
        client.send({ type: "message", text: `m${i}`, clientId: `c-${i}` });
      }
      const closed = await client.closed;
      assert.equal(closed.code, CloseCode.rateLimited, closed.reason);
      assert.equal(closed.reason, "rate limit exceeded");
      const refused = client.frames.filter((f) =>
        f.type === "error" && f.code === "rate_limited"
      );
      assert.equal(refused.length, MAX_RATE_VIOLATIONS);
    } finally {
      await server.close();
    }
  });
}

Deno.test("the welcome comes in the 101's write: a socket's first read after its handshake holds the welcome", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Ana");
    const { conn, status, rest } = await openRawSocket(
      server.wsUrl("one-write"),
      { cookie, origin: server.origin },
    );
    conn.close();
    assert.equal(status, 101);
    // A server text frame (FIN, unmasked), its length in 7 or 7+16 bits.
    assert.equal(rest[0], 0x81, `bytes after the 101: ${rest.length}`);
    const start = (rest[1] & 0x7f) === 126 ? 4 : 2;
    const text = new TextDecoder().decode(rest.subarray(start));
    assert.ok(text.startsWith('{"type":"welcome"'), text.slice(0, 40));
  } finally {
    await server.close();
  }
});

/**
 * The guarded listener against a real server process (`main.ts`) on
 * 127.0.0.1, under bounded attacks: huge unfinished WebSocket messages, a
 * spent connection budget, silent and slow connections, a low `nofile`.
 * Each test's load is fixed in count and ends by itself.
 */
import assert from "node:assert/strict";
import {
  type FrontEnv,
  type FrontLimits,
  relayFrom,
  startFront,
} from "../../lib/net/front.ts";
import { quietLogger } from "../../lib/log.ts";
import { headEnd } from "../../lib/net/http_head.ts";
import { Opcode } from "../../lib/ws/frame.ts";
import { guestCookie } from "../../support/guest.ts";
import { eventually } from "../../support/wait.ts";
import { type ServerProcess, spawnServer } from "../_helpers/process.ts";
import {
  handshakeRequest,
  handshakeStatus,
  TestClient,
} from "../_helpers/ws_client.ts";
import {
  clientHeader,
  closeCodeOf,
  ServerFrameReader,
} from "../_helpers/ws_frames.ts";

const ATTACKERS = 20;
const FRAGMENT_BYTES = 60_000_000;
const MAX_RSS_GROWTH_KIB = 100 * 1024;
/** How soon a refused connection must be seen closed. */
const REFUSAL_WAIT_MS = 2_000;

/** Opens a WebSocket by hand; resolves once the `101` head has been read. */
async function rawSocket(
  server: ServerProcess,
  room: string,
  cookie: string,
): Promise<{ conn: Deno.TcpConn; reader: ServerFrameReader }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const url = new URL(`ws://127.0.0.1:${server.port}/ws/chat/${room}`);
  await conn.write(new TextEncoder().encode(handshakeRequest(url, {
    cookie,
    origin: server.origin,
  }, btoa("0123456789abcdef"))));
  const reader = new ServerFrameReader();
  const buffer = new Uint8Array(4096);
  // Bytes, not text: the frames that came with the head (the welcome comes
  // in the 101's write) must reach the reader as sent. A "latin1"
  // TextDecoder is windows-1252, which changed bytes 0x80–0x9F of them.
  let received = new Uint8Array(0);
  let end = -1;
  while (end < 0) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("closed during the handshake");
    const joined = new Uint8Array(received.length + n);
    joined.set(received);
    joined.set(buffer.subarray(0, n), received.length);
    received = joined;
    end = headEnd(received);
  }
  const head = new TextDecoder().decode(received.subarray(0, end));
  assert.match(head, /^HTTP\/1\.1 101 /);
  reader.push(received.subarray(end));
  return { conn, reader };
}

/**
 * Announces an unfinished 60 MB text fragment and keeps sending its payload
 * until the server closes; returns the server's close code (or null).
 */
async function sendHugeFragment(
  socket: { conn: Deno.TcpConn; reader: ServerFrameReader },
): Promise<number | null> {
  const { conn, reader } = socket;
  let code: number | null = null;
  const reading = (async () => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      while (code === null) {
        const n = await conn.read(buffer);
        if (n === null) return;
        for (const frame of reader.push(buffer.subarray(0, n))) {
          if (frame.opcode === Opcode.close) code = closeCodeOf(frame.payload);
        }
      }
    } catch { /* reset */ }
  })();
  const chunk = new Uint8Array(1024 * 1024);
  try {
    await conn.write(clientHeader(Opcode.text, FRAGMENT_BYTES, { fin: false }));
    for (let sent = 0; sent < FRAGMENT_BYTES && code === null;) {
      sent += await conn.write(chunk);
    }
  } catch { /* the server closed the connection */ }
  await reading;
  try {
    conn.close();
  } catch { /* closed */ }
  return code;
}

/** A connection whose end (by the server, or by a reset) is watched. */
class Watched {
  /** Resolves when the server closes the connection (its end of stream or a reset). */
  readonly ended: Promise<void>;

  constructor(readonly conn: Deno.Conn) {
    this.ended = conn.read(new Uint8Array(64)).then(() => {}, () => {});
  }

  /** True if it ended within `ms`; the connection stays as it is either way. */
  async endsWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const ended = await Promise.race([this.ended.then(() => true), timeout]);
    clearTimeout(timer);
    return ended;
  }

  /** Closes our end (if still open) and waits for the pending read. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.ended;
  }
}

/** True if the server closes `conn` within `ms` (refused or timed out); closes it either way. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const watched = new Watched(conn);
  const ended = await watched.endsWithin(ms);
  await watched.close();
  return ended;
}

/** Connects and sends an upgrade request for `path` that the app may refuse (no key). */
async function askToUpgrade(port: number, path: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\n\r\n",
  ));
  return conn;
}

function connectAll(port: number, n: number): Promise<Deno.TcpConn[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () => Deno.connect({ hostname: "127.0.0.1", port }),
    ),
  );
}

Deno.test("20 sockets each sending an unfinished 60 MB fragment are closed 1009; server RSS grows < 100 MB", async () => {
  const server = await spawnServer({
    KV_PATH: ":memory:",
    MAX_SOCKETS_PER_USER: "100",
  });
  try {
    const cookie = await guestCookie(server.origin, "Mallory");
    const sockets = await Promise.all(
      Array.from({ length: ATTACKERS }, () => rawSocket(server, "big", cookie)),
    );
    const before = server.rssKiB();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, server.rssKiB());
    }, 20);
    let codes: (number | null)[];
    try {
      codes = await Promise.all(sockets.map(sendHugeFragment));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, server.rssKiB());
    console.log(
      `RSS before ${before} KiB, peak ${peak} KiB, growth ${peak - before} KiB`,
    );
    assert.deepEqual(codes, Array(ATTACKERS).fill(1009));
    assert.ok(
      peak - before < MAX_RSS_GROWTH_KIB,
      `RSS grew ${peak - before} KiB`,
    );
    // The server is fine: a new client joins and is welcomed.
    const client = await TestClient.connect(
      `ws://127.0.0.1:${server.port}/ws/chat/big`,
      { cookie, origin: server.origin },
    );
    await client.nextOf("welcome");
    await client.close();
  } finally {
    await server.kill();
  }
});

Deno.test("a spent connection budget refuses new connections while the process and an open room keep working", async () => {
  const server = await spawnServer({
    KV_PATH: ":memory:",
    MAX_CONNECTIONS: "40",
    HTTP_HEADERS_TIMEOUT_MS: "4000",
  });
  try {
    const url = `ws://127.0.0.1:${server.port}/ws/chat/live`;
    const ana = await TestClient.connect(url, {
      cookie: await guestCookie(server.origin, "Ana"),
      origin: server.origin,
    });
    const ben = await TestClient.connect(url, {
      cookie: await guestCookie(server.origin, "Ben"),
      origin: server.origin,
    });
    await Promise.all([ana.nextOf("welcome"), ben.nextOf("welcome")]);

    // 60 silent connections against a budget of 40, two of them the sockets.
    const silent = (await connectAll(server.port, 60)).map((c) =>
      new Watched(c)
    );
    try {
      const ended = await Promise.all(
        silent.map((w) => w.endsWithin(REFUSAL_WAIT_MS)),
      );
      const refused = ended.filter(Boolean).length;
      assert.ok(refused >= 20, `${refused} refused`);
      assert.ok(60 - refused >= 30, `${60 - refused} admitted`);
      // Spent: one more is refused at once…
      const [late] = await connectAll(server.port, 1);
      assert.ok(await closedWithin(late, REFUSAL_WAIT_MS), "late not refused");
      // …while the process lives and the open room delivers.
      assert.ok(!server.exited());
      ana.send({ type: "message", text: "still here", clientId: "m1" });
      const got = await ben.next((f) => f.type === "message");
      assert.ok(got.type === "message" && got.message.text === "still here");
    } finally {
      await Promise.all(silent.map((w) => w.close()));
    }
    await Promise.all([ana.close(), ben.close()]);
  } finally {
    await server.kill();
  }
});

Deno.test("500 silent connections, a slow head and an idle keep-alive connection are closed within their timeouts", async () => {
  const headersTimeout = 1_000;
  const idleTimeout = 1_000;
  const slack = 1_500;
  const server = await spawnServer({
    KV_PATH: ":memory:",
    HTTP_HEADERS_TIMEOUT_MS: String(headersTimeout),
    HTTP_IDLE_TIMEOUT_MS: String(idleTimeout),
  });
  try {
    const started = performance.now();
    const silent = await connectAll(server.port, 500);
    const slow = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    await slow.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const closed = await Promise.all(
      [...silent, slow].map((c) => closedWithin(c, headersTimeout + slack)),
    );
    assert.equal(closed.filter(Boolean).length, 501);
    assert.ok(performance.now() - started < headersTimeout + slack);

    // A keep-alive connection after its answer: closed once idle.
    const idle = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    await idle.write(
      new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    const answer = new Uint8Array(4096);
    const n = await idle.read(answer);
    assert.match(
      new TextDecoder().decode(answer.subarray(0, n ?? 0)),
      /^HTTP\/1\.1 200/,
    );
    const answeredAt = performance.now();
    assert.ok(await closedWithin(idle, idleTimeout + slack));
    assert.ok(performance.now() - answeredAt >= idleTimeout - 100);
    assert.ok(!server.exited());
  } finally {
    await server.kill();
  }
});

Deno.test("with nofile 256, 400 connections are refused past the budget and never exhaust descriptors", async () => {
  const server = await spawnServer({
    KV_PATH: ":memory:",
    HTTP_HEADERS_TIMEOUT_MS: "3000",
  }, { nofile: 256 });
  try {
    const conns = await connectAll(server.port, 400);
    const closed = await Promise.all(
      conns.map((c) => closedWithin(c, REFUSAL_WAIT_MS)),
    );
    const refused = closed.filter(Boolean).length;
    // 256 descriptors less 64 reserved: at most 192 admitted.
    assert.ok(refused >= 400 - 192, `${refused} refused`);
    assert.ok(!server.exited());
    // Once the silent ones are gone (closed above), the server answers again.
    const res = await fetch(`${server.origin}/healthz`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await server.kill();
  }
});

/** A guarded listener in this process around `handler`, with roomy limits. */
function frontFor(
  handler: (req: Request, env: FrontEnv) => Response | Promise<Response>,
  limits: Partial<FrontLimits> = {},
  sharedAddress?: (hostname: string) => boolean,
) {
  return startFront({
    hostname: "127.0.0.1",
    port: 0,
    handler,
    limits: {
      maxConnections: 100,
      maxDescriptors: 300,
      headersTimeoutMs: 2_000,
      requestTimeoutMs: 2_000,
      idleTimeoutMs: 2_000,
      maxHeadBytes: 8_192,
      maxMessageBytes: 1_024,
      closeTimeoutMs: 500,
      maxConnectionsPerAddress: 0,
      ...limits,
    },
    log: quietLogger,
    sharedAddress,
  });
}

/** Sends raw HTTP/1.1 `requests` on one connection; returns each response head's status. */
async function statusesOnOneConnection(
  port: number,
  requests: string[],
): Promise<{ statuses: number[]; localPort: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const statuses: number[] = [];
  const buffer = new Uint8Array(8192);
  try {
    for (const request of requests) {
      await conn.write(new TextEncoder().encode(request));
      let text = "";
      // Every answer here has a short body; read until its end.
      while (!/\r\n\r\n[\s\S]*\.$/.test(text)) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      statuses.push(Number(text.split(" ")[1]));
    }
    return { statuses, localPort: (conn.localAddr as Deno.NetAddr).port };
  } finally {
    conn.close();
  }
}

Deno.test("front: relayed HTTP sees the client's address; an upgrade on a relayed connection is refused", async () => {
  const seen: Deno.NetAddr[] = [];
  const front = frontFor((req, env) => {
    seen.push(env.remoteAddr);
    if (req.headers.get("upgrade") === "websocket") {
      const upgrade = env.upgradeWebSocket(req, { idleTimeout: 10 });
      return new Response(upgrade.ok ? "upgraded." : "refused.", {
        status: upgrade.ok ? 200 : 400,
      });
    }
    return new Response("plain.");
  });
  try {
    const key = btoa("0123456789abcdef");
    const { statuses, localPort } = await statusesOnOneConnection(
      front.addr.port,
      [
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" +
        `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      ],
    );
    assert.deepEqual(statuses, [200, 400]);
    // The app saw the client's own address and port, not the relay's.
    assert.deepEqual(
      seen.map((a) => [a.hostname, a.port]),
      [["127.0.0.1", localPort], ["127.0.0.1", localPort]],
    );
  } finally {
    await front.shutdown();
  }
});

Deno.test("front: an upgrade the app refuses gets the app's answer; one it accepts opens a socket", async () => {
  const front = frontFor((req, env) => {
    if (new URL(req.url).pathname === "/no") {
      return new Response("no.", { status: 403 });
    }
    const upgrade = env.upgradeWebSocket(req, { idleTimeout: 10 });
    if (!upgrade.ok) return new Response("bad.", { status: 400 });
    upgrade.socket.addEventListener("message", (e) => {
      upgrade.socket.send(`echo ${(e as MessageEvent).data}`);
    });
    return upgrade.response;
  });
  try {
    const refused = await handshakeStatus(
      `ws://127.0.0.1:${front.addr.port}/no`,
      {},
    );
    assert.equal(refused, 403);
    const socket = new WebSocket(`ws://127.0.0.1:${front.addr.port}/yes`);
    const echoed = new Promise<string>((resolve) => {
      socket.onmessage = (e) => resolve(e.data);
    });
    await new Promise((resolve) => socket.onopen = resolve);
    socket.send("hi");
    assert.equal(await echoed, "echo hi");
    const closed = new Promise((resolve) => socket.onclose = resolve);
    socket.close();
    await closed;
    assert.equal(front.stats().webSockets, 0);
  } finally {
    await front.shutdown();
  }
});

Deno.test("front: an upgrade whose header holds a byte no header may hold gets 400 and never reaches the app", async () => {
  let reached = 0;
  const front = frontFor((req, env) => {
    reached++;
    const upgrade = env.upgradeWebSocket(req, { idleTimeout: 10 });
    return upgrade.ok ? upgrade.response : new Response(null, { status: 400 });
  });
  try {
    const conn = await Deno.connect({ port: front.addr.port });
    await conn.write(
      new TextEncoder().encode(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
          "Sec-WebSocket-Version: 13\r\nX-Bad: a\0b\r\n\r\n",
      ),
    );
    const answer = new Uint8Array(256);
    const n = await conn.read(answer);
    conn.close();
    assert.match(
      new TextDecoder().decode(answer.subarray(0, n ?? 0)),
      /^HTTP\/1\.1 400 /,
    );
    assert.equal(reached, 0);
  } finally {
    await front.shutdown();
  }
});

/** Connections opened at once while the server is stopped: more than Deno's default queue (511). */
const BURST = 800;
/**
 * How long each may take to be queued by the kernel: well under the client's
 * 1 s SYN retry, so one dropped for a full queue is not counted.
 */
const QUEUED_WITHIN_MS = 700;

Deno.test("a burst of connections larger than Deno's default listen queue waits in the kernel while the server cannot accept, and is served once it can", async () => {
  const server = await spawnServer({});
  let connecting: Promise<Deno.TcpConn>[] = [];
  try {
    // A server that cannot accept (as one busy with a storm): only the
    // kernel's listen queue holds the newcomers.
    Deno.kill(server.pid, "SIGSTOP");
    try {
      connecting = Array.from(
        { length: BURST },
        () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
      );
      const queued = await Promise.all(connecting.map((c) =>
        Promise.race([
          c.then(() => true, () => false),
          new Promise<false>((resolve) =>
            setTimeout(() => resolve(false), QUEUED_WITHIN_MS)
          ),
        ])
      ));
      assert.equal(
        queued.filter(Boolean).length,
        BURST,
        "every connection queued, none dropped",
      );
    } finally {
      Deno.kill(server.pid, "SIGCONT");
    }
    // Running again, it takes them and answers the next request.
    const res = await fetch(`${server.origin}/healthz`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    for (const settled of await Promise.allSettled(connecting)) {
      if (settled.status === "fulfilled") settled.value.close();
    }
    await server.kill();
  }
});

Deno.test("relayFrom: the in-process server takes a peer for a relay only from the relay's own address and port", () => {
  const addr = (hostname: string, port: number): Deno.NetAddr => ({
    transport: "tcp",
    hostname,
    port,
  });
  const relay = { upstream: { localAddr: addr("127.0.0.1", 40_000) } };
  const relays = new Map([[
    40_000,
    relay as unknown as { upstream: Deno.Conn },
  ]]);
  assert.equal(relayFrom(relays, addr("127.0.0.1", 40_000)), relay);
  // The same port from another loopback address is someone else.
  assert.equal(relayFrom(relays, addr("127.0.0.2", 40_000)), undefined);
  assert.equal(relayFrom(relays, addr("127.0.0.1", 40_001)), undefined);
});

Deno.test("one address holds at most maxConnectionsPerAddress connections; another address, or a shared one (a trusted proxy), is still admitted", async () => {
  const CAP = 5;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const front = frontFor(
    async (req) => {
      if (new URL(req.url).pathname === "/wait") await gate;
      return new Response("ok");
    },
    // A head timeout far off: a refusal here is the cap's, not a timeout's.
    { maxConnectionsPerAddress: CAP, headersTimeoutMs: 30_000 },
    (hostname) => hostname === "127.0.0.3",
  );
  const from = (localAddress: string) =>
    Deno.createHttpClient({ localAddress });
  const clients = [from("127.0.0.2"), from("127.0.0.3")];
  const get = async (client: Deno.HttpClient | undefined, path = "/") => {
    const res = await fetch(`http://127.0.0.1:${front.addr.port}${path}`, {
      client,
    });
    return await res.text();
  };
  try {
    // 127.0.0.1 spends its share on silent connections; one more is refused.
    const silent = await connectAll(front.addr.port, CAP);
    const [late] = await connectAll(front.addr.port, 1);
    assert.ok(await closedWithin(late, REFUSAL_WAIT_MS), "not refused");
    // Another address is served meanwhile.
    assert.equal(await get(clients[0]), "ok");
    // A shared address holds more than the cap at once (held open by the gate).
    const shared = Array.from(
      { length: CAP + 2 },
      () => get(clients[1], "/wait"),
    );
    await eventually(
      () => front.stats().relays >= CAP + 2,
      "the shared address's connections to be relayed",
    );
    open();
    assert.deepEqual(await Promise.all(shared), Array(CAP + 2).fill("ok"));
    // Its silent connections closed, 127.0.0.1 is admitted again (once the
    // listener has seen them close).
    await Promise.all(silent.map((c) => closedWithin(c, 0)));
    await eventually(
      () => get(undefined).then((text) => text === "ok", () => false),
      "127.0.0.1 to be admitted again",
    );
  } finally {
    for (const c of clients) c.close();
    await front.shutdown();
  }
});

Deno.test("a refused upgrade's answer that the peer does not read is given up after requestTimeoutMs", async () => {
  // 16 MB: more than the kernel's buffers take while nothing is read.
  const body = new Uint8Array(16 * 1024 * 1024);
  const front = frontFor(() => new Response(body), { requestTimeoutMs: 500 });
  try {
    const conn = await askToUpgrade(front.addr.port, "/big");
    await eventually(
      () => front.stats().connections === 1,
      "the connection to be admitted",
    );
    // Nothing read: the listener lets it go on its own.
    await eventually(
      () => front.stats().connections === 0,
      "the unread answer to be given up",
      5_000,
    );
    conn.close();
  } finally {
    await front.shutdown();
  }
});

Deno.test("a refused upgrade whose answer cannot be made still gives its connection back to the budget and its address's share", async () => {
  const front = frontFor(
    () =>
      new Response(
        new ReadableStream({
          pull() {
            throw new Error("the answer's body failed");
          },
        }),
      ),
    { maxConnectionsPerAddress: 2 },
  );
  try {
    for (let i = 0; i < 4; i++) {
      const conn = await askToUpgrade(front.addr.port, "/x");
      // Each is answered (or cut) and closed; none stays counted.
      assert.ok(await closedWithin(conn, REFUSAL_WAIT_MS), `connection ${i}`);
      await eventually(
        () => front.stats().connections === 0,
        "the connection to be released",
      );
    }
  } finally {
    await front.shutdown();
  }
});

import assert from "node:assert/strict";
import { Opcode } from "../../lib/ws/frame.ts";
import {
  CORK_MAX_MS,
  GuardedWebSocket,
  MAX_QUEUED_BYTES,
  ReadyState,
  type SocketOptions,
} from "../../lib/ws/socket.ts";
import {
  clientFrame,
  clientHeader,
  closeCodeOf,
  ServerFrameReader,
  type ServerWireFrame,
} from "../_helpers/ws_frames.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A GuardedWebSocket on one end of a loopback TCP connection; the test holds the other. */
async function pair(options: Partial<SocketOptions> = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [server, peer] = await Promise.all([
    listener.accept(),
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  ]);
  listener.close();
  /** The size of every write the socket made: its connection counts them. */
  const writes: number[] = [];
  const counted = new Proxy(server, {
    get(target, key) {
      if (key === "write") {
        return (bytes: Uint8Array) => {
          writes.push(bytes.length);
          return target.write(bytes);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const fails: unknown[][] = [];
  let finished = 0;
  const socket = new GuardedWebSocket({
    maxMessageBytes: 1024,
    idleTimeoutMs: 0,
    closeTimeoutMs: 1_000,
    onFail: (_socket, ...args) => fails.push(args),
    onFinished: () => finished++,
    ...options,
  });
  const events: Event[] = [];
  for (const type of ["open", "message", "close", "error"]) {
    socket.addEventListener(type, (e) => events.push(e));
  }
  const closed = new Promise<CloseEvent>((resolve) =>
    socket.addEventListener("close", (e) => resolve(e as CloseEvent))
  );
  const reader = new ServerFrameReader();
  const received: ServerWireFrame[] = [];
  const buffer = new Uint8Array(64 * 1024);
  /** Reads the peer's side until a frame matches. */
  const next = async (test: (f: ServerWireFrame) => boolean) => {
    while (true) {
      const found = received.findIndex(test);
      if (found >= 0) return received.splice(found, 1)[0];
      const n = await peer.read(buffer);
      if (n === null) throw new Error("connection ended");
      received.push(...reader.push(buffer.subarray(0, n)));
    }
  };
  /** Resolves when the server side ended the connection. */
  const ended = async () => {
    try {
      while ((await peer.read(buffer)) !== null) { /* drain */ }
    } catch { /* reset */ }
  };
  return {
    socket,
    peer,
    events,
    fails,
    closed,
    next,
    ended,
    finished: () => finished,
    writes,
    /** Attaches the socket, with `preamble` (a `101`) as its first write. */
    attach: (preamble?: Uint8Array) =>
      socket.attach(counted, undefined, preamble),
  };
}

Deno.test("GuardedWebSocket: opens on attach, delivers text and binary, sends both, answers pings", async () => {
  const p = pair();
  const { socket, peer, events, next, attach, closed } = await p;
  assert.equal(socket.readyState, ReadyState.connecting);
  assert.throws(() => socket.send("early"), DOMException);
  attach();
  assert.equal(socket.readyState, ReadyState.open);
  assert.equal(events[0].type, "open");

  await peer.write(clientFrame(Opcode.text, utf8("héllo")));
  await peer.write(clientFrame(Opcode.binary, new Uint8Array([7, 8])));
  await peer.write(clientFrame(Opcode.ping, utf8("hb")));
  const pong = await next((f) => f.opcode === Opcode.pong);
  assert.deepEqual(pong.payload, utf8("hb"));
  const messages = events.filter((e) => e.type === "message") as MessageEvent[];
  assert.equal(messages[0].data, "héllo");
  assert.deepEqual(new Uint8Array(messages[1].data), new Uint8Array([7, 8]));

  socket.send("to you");
  socket.send(new Uint8Array([1, 2, 3]));
  const text = await next((f) => f.opcode === Opcode.text);
  assert.equal(new TextDecoder().decode(text.payload), "to you");
  const binary = await next((f) => f.opcode === Opcode.binary);
  assert.deepEqual(binary.payload, new Uint8Array([1, 2, 3]));

  // The server closes; the peer answers; the close event has the server's code.
  socket.close(4029, "slow down");
  assert.equal(socket.readyState, ReadyState.closing);
  const close = await next((f) => f.opcode === Opcode.close);
  assert.equal(closeCodeOf(close.payload), 4029);
  await peer.write(clientFrame(Opcode.close, close.payload));
  const event = await closed;
  assert.equal(event.code, 4029);
  assert.ok(event.wasClean);
  assert.equal(socket.readyState, ReadyState.closed);
  assert.equal((await p).finished(), 1);
  assert.ok(!events.some((e) => e.type === "error"));
  peer.close();
});

Deno.test("GuardedWebSocket: a peer's close is answered with its code and ends the connection", async () => {
  const { peer, next, attach, closed, ended } = await pair();
  attach();
  await peer.write(clientFrame(Opcode.close, new Uint8Array([0x03, 0xe9])));
  const answer = await next((f) => f.opcode === Opcode.close);
  assert.equal(closeCodeOf(answer.payload), 1001);
  await ended();
  const event = await closed;
  assert.equal(event.code, 1001);
  assert.ok(event.wasClean);
  peer.close();
});

Deno.test("GuardedWebSocket: after its close, frames still arriving are read and dropped until the peer's close frame", async () => {
  const { socket, peer, events, next, attach, closed } = await pair();
  attach();
  socket.close(4029, "rate limit exceeded");
  // The peer had not seen the close yet: 300 more messages are on their way.
  const flood = Array.from(
    { length: 300 },
    (_, i) => clientFrame(Opcode.text, utf8(`m${i}`)),
  );
  await peer.write(new Uint8Array(flood.flatMap((f) => [...f])));
  const close = await next((f) => f.opcode === Opcode.close);
  assert.equal(closeCodeOf(close.payload), 4029);
  await peer.write(clientFrame(Opcode.close, close.payload));
  const event = await closed;
  assert.equal(event.code, 4029);
  assert.ok(event.wasClean, "ended by the peer's close frame, not a timeout");
  assert.equal(events.filter((e) => e.type === "message").length, 0);
  peer.close();
});

Deno.test("GuardedWebSocket: a peer that never answers the close is dropped after closeTimeoutMs", async () => {
  const { socket, peer, attach, closed, ended } = await pair({
    closeTimeoutMs: 200,
  });
  attach();
  const started = Date.now();
  socket.close(1000);
  await ended();
  const event = await closed;
  assert.ok(!event.wasClean);
  assert.ok(Date.now() - started >= 150, `${Date.now() - started} ms`);
  peer.close();
});

Deno.test("GuardedWebSocket: an oversize message closes 1009 at once; onFail gets its size, never its content", async () => {
  const { socket, peer, next, attach, closed, fails, ended } = await pair();
  attach();
  await peer.write(clientHeader(Opcode.text, 50_000_000, { fin: false }));
  const close = await next((f) => f.opcode === Opcode.close);
  assert.equal(closeCodeOf(close.payload), 1009);
  assert.equal(socket.readyState, ReadyState.closing);
  assert.deepEqual(fails, [[1009, "message too big", 50_000_000]]);
  // The peer keeps sending what it announced: it is read and dropped until the peer stops.
  await peer.write(new Uint8Array(256 * 1024));
  await peer.closeWrite();
  await ended();
  const event = await closed;
  assert.equal(event.code, 1009);
  peer.close();
});

Deno.test("GuardedWebSocket: a quiet peer is pinged at half the idle timeout and dropped at the full", async () => {
  const { socket, peer, next, attach, closed, events } = await pair({
    idleTimeoutMs: 1_000,
  });
  attach();
  const start = Date.now();
  socket.heartbeat(start + 400);
  socket.heartbeat(start + 600);
  const ping = await next((f) => f.opcode === Opcode.ping);
  assert.equal(ping.payload.length, 0);
  // Hearing from the peer resets the clock.
  await peer.write(clientFrame(Opcode.pong, new Uint8Array(0)));
  await peer.write(clientFrame(Opcode.text, utf8("sync")));
  await new Promise<void>((resolve) => {
    socket.addEventListener("message", () => resolve(), { once: true });
  });
  socket.heartbeat(start + 900);
  assert.equal(socket.readyState, ReadyState.open);
  socket.heartbeat(Date.now() + 1_000);
  const event = await closed;
  assert.equal(event.code, 1006);
  assert.ok(events.some((e) => e.type === "error"));
  peer.close();
});

Deno.test("GuardedWebSocket: bufferedAmount counts what is not yet written; abort before attach closes it", async () => {
  const { socket, peer, attach, next, closed } = await pair();
  attach();
  socket.send("x".repeat(500));
  assert.ok(socket.bufferedAmount >= 500);
  await next((f) => f.opcode === Opcode.text);
  assert.equal(socket.bufferedAmount, 0);
  socket.close();
  await next((f) => f.opcode === Opcode.close);
  await peer.write(clientFrame(Opcode.close, new Uint8Array([0x03, 0xe8])));
  await closed;
  peer.close();

  const never = new GuardedWebSocket({
    maxMessageBytes: 1024,
    idleTimeoutMs: 0,
    closeTimeoutMs: 1_000,
  });
  const neverClosed = new Promise<CloseEvent>((resolve) =>
    never.addEventListener("close", (e) => resolve(e as CloseEvent))
  );
  never.abort();
  assert.equal((await neverClosed).code, 1006);
  assert.equal(never.readyState, ReadyState.closed);
});

Deno.test("GuardedWebSocket: more sockets flushed at once than the batch pool holds each get their frames, whole and in order", async () => {
  // 40 > the 32 pooled batch buffers: the rest are made to size.
  const pairs = await Promise.all(Array.from({ length: 40 }, () => pair()));
  for (const p of pairs) p.attach();
  pairs.forEach((p, i) => {
    for (let k = 0; k < 3; k++) p.socket.send(`socket ${i} frame ${k}`);
  });
  for (const [i, p] of pairs.entries()) {
    for (let k = 0; k < 3; k++) {
      const frame = await p.next((f) => f.opcode === Opcode.text);
      assert.equal(
        new TextDecoder().decode(frame.payload),
        `socket ${i} frame ${k}`,
      );
    }
    p.socket.close(1000, "done");
    const close = await p.next((f) => f.opcode === Opcode.close);
    await p.peer.write(clientFrame(Opcode.close, close.payload));
    await p.closed;
    p.peer.close();
  }
});

Deno.test("GuardedWebSocket: sendParts sends one text message as fragments, in order, nothing between them", async () => {
  const p = pair();
  const { socket, peer, next, attach } = await p;
  assert.throws(() => socket.sendParts(["early"]), DOMException);
  attach();
  socket.send("before");
  socket.sendParts(['{"state":{"a":1}', ',"joins":{}}']);
  socket.send("after");
  const frames = [
    await next(() => true),
    await next(() => true),
    await next(() => true),
    await next(() => true),
  ];
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)]),
    [
      [Opcode.text, true, "before"],
      [Opcode.text, false, '{"state":{"a":1}'],
      [Opcode.continuation, true, ',"joins":{}}'],
      [Opcode.text, true, "after"],
    ],
  );
  socket.close(1000);
  await next((f) => f.opcode === Opcode.close);
  peer.close();
});

/** Reads from `peer` until `length` bytes came. */
async function readBytes(peer: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await peer.read(out.subarray(at));
    if (n === null) throw new Error("connection ended");
    at += n;
  }
  return out;
}

/** One turn of the event loop: a flush due on a microtask has had its chance. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

Deno.test("GuardedWebSocket: corked from its open listener, the 101 and what is sent before uncork go in one write", async () => {
  const { socket, peer, next, attach, writes } = await pair();
  const preamble = utf8("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  socket.addEventListener("open", () => socket.cork(), { once: true });
  attach(preamble);
  socket.send("welcome");
  await nextTurn();
  assert.deepEqual(writes, [], "nothing written while corked");
  socket.sendParts(["pres", "ence"]);
  socket.uncork();
  assert.equal(writes.length, 1);
  assert.deepEqual(await readBytes(peer, preamble.length), preamble);
  const welcome = await next((f) => f.opcode === Opcode.text);
  assert.equal(new TextDecoder().decode(welcome.payload), "welcome");
  const first = await next(() => true);
  const second = await next(() => true);
  assert.equal(
    new TextDecoder().decode(first.payload) +
      new TextDecoder().decode(second.payload),
    "presence",
  );
  // Uncorked, a send is written on its own again.
  socket.send("live");
  await next((f) => f.opcode === Opcode.text);
  assert.equal(writes.length, 2);
  socket.close();
  peer.close();
});

Deno.test("GuardedWebSocket: a cork does not hold a close, and the heartbeat ends a cork older than CORK_MAX_MS", async () => {
  const closing = await pair();
  closing.socket.addEventListener("open", () => closing.socket.cork());
  closing.attach(utf8("101\r\n"));
  closing.socket.send("held");
  closing.socket.close(4000, "bye");
  await readBytes(closing.peer, 5);
  const held = await closing.next((f) => f.opcode === Opcode.text);
  assert.equal(new TextDecoder().decode(held.payload), "held");
  const close = await closing.next((f) => f.opcode === Opcode.close);
  assert.equal(closeCodeOf(close.payload), 4000);
  closing.peer.close();

  const stuck = await pair();
  stuck.socket.addEventListener("open", () => stuck.socket.cork());
  stuck.attach(utf8("101\r\n"));
  stuck.socket.send("late");
  const now = Date.now();
  stuck.socket.heartbeat(now + CORK_MAX_MS - 1_000);
  await nextTurn();
  assert.deepEqual(stuck.writes, [], "still corked");
  stuck.socket.heartbeat(now + CORK_MAX_MS + 1);
  assert.equal(stuck.writes.length, 1);
  await readBytes(stuck.peer, 5);
  const late = await stuck.next((f) => f.opcode === Opcode.text);
  assert.equal(new TextDecoder().decode(late.payload), "late");
  stuck.socket.close();
  stuck.peer.close();
});

Deno.test("GuardedWebSocket: a ping flood from a peer that does not read queues one pong, answering the latest ping", async () => {
  const { socket, peer, attach, next } = await pair();
  attach();
  const pings = Array.from(
    { length: 2_000 },
    (_, i) => clientFrame(Opcode.ping, utf8(`p${i}`)),
  );
  const message = new Promise<void>((resolve) =>
    socket.addEventListener("message", () => resolve(), { once: true })
  );
  // The pings, then a message: once it is dispatched, every ping was handled.
  const flood = new Uint8Array(pings.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pings) flood.set(p, (at += p.length) - p.length);
  await peer.write(flood);
  await peer.write(clientFrame(Opcode.text, utf8("after")));
  await message;
  // At most the pong being written and the one waiting: not 2,000.
  assert.ok(socket.bufferedAmount <= 2 * 8, `${socket.bufferedAmount} queued`);
  const pongs: string[] = [];
  while (pongs.at(-1) !== "p1999") {
    const pong = await next((f) => f.opcode === Opcode.pong);
    pongs.push(new TextDecoder().decode(pong.payload));
  }
  assert.ok(pongs.length < 2_000, `${pongs.length} pongs`);
  socket.close();
  peer.close();
});

Deno.test("GuardedWebSocket: more than MAX_QUEUED_BYTES waiting to be written drops the connection", async () => {
  const { socket, attach, closed, ended, peer } = await pair();
  attach();
  const chunk = "x".repeat(1024 * 1024);
  for (let sent = 0; sent <= MAX_QUEUED_BYTES; sent += chunk.length) {
    socket.send(chunk);
  }
  assert.equal(socket.readyState, ReadyState.closed);
  assert.equal((await closed).code, 1006);
  await ended();
  peer.close();
});

Deno.test("GuardedWebSocket: a peer that sends its close and stops reading is dropped after closeTimeoutMs", async () => {
  const { socket, peer, attach, closed } = await pair({ closeTimeoutMs: 300 });
  attach();
  // More than the kernel's buffers take while the peer reads nothing.
  const chunk = "x".repeat(1024 * 1024);
  for (let i = 0; i < 7; i++) socket.send(chunk);
  await nextTurn();
  await peer.write(clientFrame(Opcode.close, new Uint8Array([0x03, 0xe8])));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"still open">((resolve) => {
    timer = setTimeout(() => resolve("still open"), 5_000);
  });
  const outcome = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  assert.notEqual(outcome, "still open");
  peer.close();
});

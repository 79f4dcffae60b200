/**
 * DrainingWebSocket over a real `Deno.serve` and a real client: a close
 * while the peer is still sending reaches the peer with its code.
 */
import assert from "node:assert/strict";
import {
  DRAIN_MAX_MS,
  DRAIN_QUIET_MS,
  DrainingWebSocket,
} from "../../lib/ws/draining.ts";

/** A Deno server whose one socket is wrapped; `onOpen` gets it. */
function serveOne(onOpen: (socket: DrainingWebSocket) => void) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      const wrapped = new DrainingWebSocket(socket);
      socket.addEventListener("open", () => onOpen(wrapped));
      return response;
    },
  );
  return { server, url: `ws://127.0.0.1:${server.addr.port}/` };
}

/** A client that records what it receives and how it closed. */
function connect(url: string) {
  const client = new WebSocket(url);
  const received: string[] = [];
  client.onmessage = (e) => received.push(e.data);
  const opened = new Promise((resolve) => client.onopen = resolve);
  const closed = new Promise<CloseEvent>((resolve) => client.onclose = resolve);
  return { client, received, opened, closed };
}

Deno.test("DrainingWebSocket: closed while 300 frames are still arriving, the peer gets what was sent and the close code", async () => {
  let handled = 0;
  let stateAfterClose = -1;
  const { server, url } = serveOne((socket) => {
    socket.addEventListener("message", () => {
      handled++;
      if (handled === 1) {
        socket.send("refused");
        socket.close(4029, "rate limit exceeded");
        stateAfterClose = socket.readyState;
      }
    });
  });
  try {
    const { client, received, opened, closed } = connect(url);
    await opened;
    for (let i = 0; i < 300; i++) client.send(`m${i}`);
    const event = await closed;
    assert.equal(event.code, 4029);
    assert.equal(event.reason, "rate limit exceeded");
    assert.deepEqual(received, ["refused"]);
    assert.equal(handled, 1, "no message is handled after close()");
    assert.equal(stateAfterClose, WebSocket.CLOSING);
  } finally {
    await server.shutdown();
  }
});

Deno.test("DrainingWebSocket: a peer that never stops sending is closed after DRAIN_MAX_MS", async () => {
  let closedAt = 0;
  const { server, url } = serveOne((socket) => {
    socket.addEventListener("message", () => {
      if (closedAt === 0) {
        closedAt = Date.now();
        socket.close(4029, "rate limit exceeded");
      }
    });
  });
  try {
    const { client, opened, closed } = connect(url);
    await opened;
    // Faster than the quiet period, so only the deadline ends the drain.
    const sender = setInterval(() => {
      if (client.readyState === WebSocket.OPEN) client.send("more");
    }, DRAIN_QUIET_MS / 5);
    try {
      const event = await closed;
      const waited = Date.now() - closedAt;
      assert.ok(waited >= DRAIN_MAX_MS * 0.9, `${waited} ms`);
      assert.ok(waited < DRAIN_MAX_MS + 2_000, `${waited} ms`);
      // Cut off while sending: the code may or may not make it through.
      assert.ok(event.code === 4029 || event.code === 1006, `${event.code}`);
    } finally {
      clearInterval(sender);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("DrainingWebSocket: a close from the peer passes through; listeners can be removed", async () => {
  const seen: string[] = [];
  let serverClosed: Promise<CloseEvent> | null = null;
  const { server, url } = serveOne((socket) => {
    const listener = (e: Event) => {
      seen.push((e as MessageEvent).data);
      socket.removeEventListener("message", listener);
    };
    socket.addEventListener("message", listener);
    serverClosed = new Promise((resolve) =>
      socket.addEventListener("close", (e) => resolve(e as CloseEvent))
    );
  });
  try {
    const { client, opened, closed } = connect(url);
    await opened;
    client.send("one");
    client.send("two");
    client.close(4000, "bye");
    assert.equal((await closed).code, 4000);
    assert.equal((await serverClosed!).code, 4000);
    assert.deepEqual(seen, ["one"]);
  } finally {
    await server.shutdown();
  }
});

/**
 * The physical-limit reference for `bench/run.ts`: a bare Deno broadcast
 * server with no parsing, no auth and no storage. `Deno.serve` +
 * `Deno.upgradeWebSocket` + `Map<room, Set<WebSocket>>`: every text frame
 * received on `/ws/chat/<room>` is sent, as is, to every socket of that room
 * (the sender included), which is the least work any chat server can do.
 *
 * To mirror Roomcast's `welcome`, a socket gets `{"type":"welcome"}` (with
 * this process' pid) once it has joined its room, so the benchmark client
 * waits the same way for both.
 * To mirror Roomcast's graceful restart (the storm scenario), SIGTERM closes
 * every socket with 1012 and exits once their close handshakes finished (at
 * most {@link SHUTDOWN_GRACE_MS}), as `lib/instance.ts` does.
 *
 * Run: `PORT=0 HOSTNAME=127.0.0.1 deno run -A bench/bare_server.ts` (prints
 * `Listening on http://127.0.0.1:PORT/` like `main.ts`; with `REUSE_PORT=1`
 * several of them share one port, as Roomcast's processes do); normally
 * started by `deno task bench -- --target=bare`.
 *
 * @module
 */

import { LISTEN_BACKLOG } from "../lib/net/settings.ts";

/** Same idle timeout as the Roomcast WebSocket route, for a fair comparison. */
const IDLE_TIMEOUT_S = 60;
/**
 * Names this process: the bare server has no layer between processes, so a
 * room's message reaches only the sockets of the process it was sent to, and
 * a load generator spread over several bare processes must know which
 * sockets share a broadcast (`bench/scenarios/idle_spread.ts`).
 */
const WELCOME = `{"type":"welcome","process":${Deno.pid}}`;
const PREFIX = "/ws/chat/";
/** Longest wait for the 1012 close handshakes on SIGTERM (Roomcast waits half of its 5 s). */
const SHUTDOWN_GRACE_MS = 2_500;

const rooms = new Map<string, Set<WebSocket>>();

function handler(req: Request): Response {
  const path = new URL(req.url).pathname;
  if (!path.startsWith(PREFIX) || path.length === PREFIX.length) {
    return new Response("not found", { status: 404 });
  }
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("upgrade required", { status: 426 });
  }
  const room = path.slice(PREFIX.length);
  const { socket, response } = Deno.upgradeWebSocket(req, {
    idleTimeout: IDLE_TIMEOUT_S,
  });
  socket.onopen = () => {
    let members = rooms.get(room);
    if (!members) rooms.set(room, members = new Set());
    members.add(socket);
    socket.send(WELCOME);
  };
  socket.onmessage = (e: MessageEvent) => {
    const members = rooms.get(room);
    if (!members) return;
    for (const peer of members) {
      if (peer.readyState === WebSocket.OPEN) peer.send(e.data);
    }
  };
  const leave = () => {
    const members = rooms.get(room);
    if (members?.delete(socket) && members.size === 0) rooms.delete(room);
  };
  socket.onclose = leave;
  socket.onerror = leave;
  return response;
}

/** Closes every socket with 1012, waits for their closes (bounded), exits. */
async function shutdown(): Promise<never> {
  const all = [...rooms.values()].flatMap((members) => [...members]);
  const closed = all.map((socket) =>
    new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.addEventListener("close", () => resolve());
      try {
        socket.close(1012, "server restarting");
      } catch {
        resolve();
      }
    })
  );
  await Promise.race([
    Promise.all(closed),
    new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS)),
  ]);
  Deno.exit(0);
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? "8001");
  const hostname = Deno.env.get("HOSTNAME") || "127.0.0.1";
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.serve({
    port,
    hostname,
    // Several bare processes on one port, as Roomcast's REUSE_PORT=1.
    reusePort: Deno.env.get("REUSE_PORT") === "1",
    // Roomcast's listen queue, so a storm's burst waits in the kernel for
    // both alike rather than being dropped by this one's smaller default.
    tcpBacklog: LISTEN_BACKLOG,
    onListen: ({ hostname, port }) => {
      console.log(`Listening on http://${hostname}:${port}/`);
    },
  }, handler);
}

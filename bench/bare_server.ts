/**
 * The physical-limit reference for `bench/run.ts`: a bare Deno broadcast
 * server with no parsing, no auth and no storage. `Deno.serve` +
 * `Deno.upgradeWebSocket` + `Map<room, Set<WebSocket>>`: every text frame
 * received on `/ws/chat/<room>` is sent, as is, to every socket of that room
 * (the sender included), which is the least work any chat server can do.
 *
 * To mirror Roomcast's `welcome`, a socket gets `{"type":"welcome"}` once it
 * has joined its room, so the benchmark client waits the same way for both.
 *
 * Run: `PORT=0 HOSTNAME=127.0.0.1 deno run -A bench/bare_server.ts` (prints
 * `Listening on http://127.0.0.1:PORT/` like `main.ts`); normally started by
 * `deno task bench -- --target=bare`.
 *
 * @module
 */

/** Same idle timeout as the Roomcast WebSocket route, for a fair comparison. */
const IDLE_TIMEOUT_S = 60;
const WELCOME = '{"type":"welcome"}';
const PREFIX = "/ws/chat/";

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

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? "8001");
  const hostname = Deno.env.get("HOSTNAME") || "127.0.0.1";
  Deno.serve({
    port,
    hostname,
    onListen: ({ hostname, port }) => {
      console.log(`Listening on http://${hostname}:${port}/`);
    },
  }, handler);
}

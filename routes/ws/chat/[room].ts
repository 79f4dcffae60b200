import type { AppEnv } from "../../../lib/context.ts";
import { openChatSocket } from "../../../lib/web/chat_socket.ts";
import { routeError } from "../../../lib/web/errors.ts";
import type { Handlers } from "../../../lib/web/types.ts";
import { upgradeWebSocket } from "../../../lib/ws/upgrade.ts";

/**
 * The room's WebSocket (`openChatSocket` checks, upgrades and starts it).
 * Behind the guarded listener most upgrades never reach this route: its
 * lane (`lib/web/socket_lane.ts`) opens them from the request head; the
 * route takes the rest, and every upgrade under `Deno.serve` (`LISTENER=deno`,
 * Deno Deploy).
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const opened = await openChatSocket(c.get("services"), {
      room: c.req.param("room") ?? "",
      after: c.req.query("after"),
      header: (name) => c.req.header(name),
      url: new URL(c.req.url),
      address: c.get("client").address,
      session: c.get("session"),
      // Unknown (never, behind the session middleware): asked about at the next re-check.
      sessionCheckedAt: c.get("sessionCheckedAt") ?? -Infinity,
      upgrade: (options) => upgradeWebSocket(c, options),
    });
    if (!opened.ok) return routeError(c, opened.error);
    // The 101 is returned as the upgrade made it, which Hono sends without
    // the headers set on the context: the request id goes on it here.
    opened.response.headers.set("X-Request-Id", c.get("requestId"));
    return opened.response;
  },
};

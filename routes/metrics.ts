import type { AppEnv } from "../lib/context.ts";
import type { Handlers } from "../lib/web/types.ts";

/** `GET /metrics`: this instance's counters as JSON (the same ones OpenTelemetry gets). */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    const { metrics, connections, presence } = c.var.services;
    c.header("Cache-Control", "no-store");
    return c.json({
      ...metrics.totals,
      sockets: connections.size,
      // Rooms with a local member (the layer also counts presence's internal groups).
      rooms: presence.localRooms,
      memory: Deno.memoryUsage().rss,
    });
  },
};

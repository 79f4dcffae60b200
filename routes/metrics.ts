import type { AppEnv } from "../lib/context.ts";
import type { Handlers } from "../lib/web/types.ts";

/** `GET /metrics`: this instance's counters as JSON (the same ones OpenTelemetry gets). */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    const { metrics, connections, layer } = c.var.services;
    c.header("Cache-Control", "no-store");
    return c.json({
      ...metrics.totals,
      sockets: connections.size,
      rooms: layer.localGroups(),
      memory: Deno.memoryUsage().rss,
    });
  },
};

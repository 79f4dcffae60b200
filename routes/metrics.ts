import type { Context } from "hono";
import type { AppEnv } from "../lib/context.ts";
import { TrustedProxies } from "../lib/web/client_address.ts";
import { routeError } from "../lib/web/errors.ts";
import type { Handlers } from "../lib/web/types.ts";

/** This machine: who may read the counters when no `METRICS_TOKEN` is set. */
const LOOPBACK = new TrustedProxies(["127.0.0.0/8", "::1"]);

/** Compares without an early exit, so the time taken says nothing about the token. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** Whether this request may read the counters (they tell an attacker how loaded the instance is). */
function mayRead(c: Context<AppEnv>): boolean {
  const token = c.get("services").config.metricsToken;
  if (token) {
    const auth = c.req.header("authorization") ?? "";
    return auth.startsWith("Bearer ") && sameSecret(auth.slice(7), token);
  }
  return LOOPBACK.has(c.get("client").exact);
}

/**
 * `GET /metrics`: this instance's counters as JSON (the same ones
 * OpenTelemetry gets), for `Authorization: Bearer <METRICS_TOKEN>` or, with no
 * token set, for this machine only. Anyone else gets the 404 of a path that
 * does not exist.
 */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    if (!mayRead(c)) return routeError(c, "not_found");
    const { metrics, connections, presence, sessions } = c.get("services");
    c.header("Cache-Control", "no-store");
    return c.json({
      ...metrics.totals,
      sockets: connections.size,
      // Rooms with a local member (the layer also counts presence's internal groups).
      rooms: presence.localRooms,
      memory: Deno.memoryUsage().rss,
      // Sessions accepted: checked (a signature check) or remembered.
      sessions: sessions.verifications,
    });
  },
};

import { fromAllowedOrigin } from "../../../lib/web/same_origin.ts";
import { handleConnection } from "../../../lib/chat/consumer.ts";
import { normalizeRoomName } from "../../../lib/chat/names.ts";
import { parseSeqParam } from "../../../lib/chat/protocol.ts";
import { maySeeRoom } from "../../../lib/chat/room_gate.ts";
import { sharedRoomInfo } from "../../../lib/chat/room_reads.ts";
import type { AppEnv, Services } from "../../../lib/context.ts";
import { routeError } from "../../../lib/web/errors.ts";
import type { Handlers } from "../../../lib/web/types.ts";
import { upgradeWebSocket } from "../../../lib/ws/upgrade.ts";

/** Which connection cap (if any) this new socket would exceed. */
function overCaps(
  services: Services,
  userId: string,
  ip: string,
): string | null {
  const { config, connections, budgets } = services;
  if (connections.countUser(userId) >= config.maxSocketsPerUser) {
    return "user_sockets";
  }
  if (
    config.maxSocketsPerIp > 0 &&
    connections.countIp(ip) >= config.maxSocketsPerIp
  ) {
    return "ip_sockets";
  }
  if (budgets.connects && budgets.connects.take(ip) > 0) return "ip_rate";
  return null;
}

/** Seconds without a pong before Deno drops a half-open socket. */
export const WS_IDLE_TIMEOUT_S = 60;

/**
 * The room's WebSocket. Everything is checked before the upgrade, because a
 * browser cannot read an HTTP error from a refused handshake but a test can:
 * room name and `?after=` (400), session (401), then Origin (403) — the
 * upgrade is a GET, so CSRF middleware does not cover it — then whether this
 * person may see the room (404 for a private room they are not a member of,
 * as for no room).
 *
 * `?after=<seq>`: the client holds the room's log up to that `seq` (a
 * reconnect, or a page rendered with the history): the welcome then skips
 * the latest page and the consumer answers as it answers `resume {after}`.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const services = c.get("services");
    const user = c.get("user");
    const session = c.get("session");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return routeError(c, "upgrade_required");
    }
    const room = normalizeRoomName(c.req.param("room") ?? "");
    if (!room || room !== c.req.param("room")) {
      return routeError(c, "bad_room");
    }
    const after = parseSeqParam(c.req.query("after"));
    if (after === null) return routeError(c, "bad_after");
    if (!user || !session) {
      return routeError(c, "unauthorized");
    }
    if (!fromAllowedOrigin(c)) {
      services.log.warn("ws.origin_refused", { room });
      return routeError(c, "forbidden_origin");
    }
    // A public room's record is read once for all its newcomers asking
    // together (a restart brings the whole room back at once).
    const infoReads = sharedRoomInfo(services.rooms);
    if (
      !await maySeeRoom(services.rooms, room, user, (r) => infoReads.get(r))
    ) {
      return routeError(c, "not_found");
    }
    const ip = c.get("client").address;
    const refusal = overCaps(services, user.id, ip);
    if (refusal) {
      services.metrics.drop(`refused_${refusal}`);
      services.log.warn("ws.refused", { room, reason: refusal });
      return routeError(c, "too_many_connections");
    }
    const upgrade = upgradeWebSocket(c, { idleTimeout: WS_IDLE_TIMEOUT_S });
    if (!upgrade.ok) {
      // A handshake that cannot be accepted (no key, another version): the client's fault.
      services.log.warn("ws.bad_upgrade", { room });
      return routeError(c, "bad_upgrade");
    }
    const { socket, response } = upgrade;
    const scope = {
      room,
      ip,
      user,
      sessionId: session.sid,
      // Unknown (never, behind the session middleware): asked about at the next re-check.
      sessionCheckedAt: c.get("sessionCheckedAt") ?? -Infinity,
      expiresAt: session.exp * 1000,
      after,
    };
    handleConnection(socket, scope, services, services.connections);
    return response;
  },
};

/**
 * Opening a room's WebSocket: every check before the upgrade, the upgrade,
 * and the socket handed to the chat consumer. One function for both ways a
 * request comes: the route `routes/ws/chat/[room].ts` (through the router
 * and its middleware) and the listener's lane (`lib/web/socket_lane.ts`,
 * without either).
 *
 * Everything is checked before the upgrade, because a browser cannot read
 * an HTTP error from a refused handshake but a test can: the `Upgrade`
 * field (426), room name and `?after=` (400), session (401), then Origin
 * (403) — the upgrade is a GET, so the CSRF guard does not cover it — then
 * whether this person may see the room (404 for a private room they are not
 * a member of, as for no room), then the connection caps (429).
 *
 * @module
 */

import { isAllowedOrigin } from "../auth/origin.ts";
import type { Session } from "../auth/session.ts";
import { handleConnection } from "../chat/consumer.ts";
import { normalizeRoomName } from "../chat/names.ts";
import { parseSeqParam } from "../chat/protocol.ts";
import { maySeeRoom } from "../chat/room_gate.ts";
import { sharedRoomInfo } from "../chat/room_reads.ts";
import type { Services } from "../context.ts";
import type { UpgradeOptions, UpgradeResult } from "../ws/upgrade.ts";
import type { HeaderReader } from "./client_address.ts";
import type { RouteErrorCode } from "./errors.ts";

/** Seconds without a pong before a half-open socket is dropped. */
export const WS_IDLE_TIMEOUT_S = 60;

/** A request for a room's socket, however it came. */
export interface ChatSocketRequest {
  /** The path's room segment, decoded. */
  room: string;
  /** `?after=` as given (the client holds the log up to it), if given. */
  after: string | undefined;
  header: HeaderReader;
  /** The request's absolute URL: the Origin is compared with its origin. */
  url: URL;
  /** The client's address (through trusted proxies). */
  address: string;
  /** The request's checked session (`checkSession`). */
  session: Session | null;
  /** When it was asked about revocations (`performance.now()`). */
  sessionCheckedAt: number;
  /** Upgrades the request (the listener's upgrader, or Deno's). */
  upgrade(options: UpgradeOptions): UpgradeResult;
}

/** The answer to return (the upgrade's), or the route error to answer with. */
export type ChatSocketAnswer =
  | { ok: true; response: Response }
  | { ok: false; error: RouteErrorCode };

/** Which connection cap (if any) this new socket would exceed; the last spends a connect. */
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

/**
 * Checks `request`, upgrades it and starts the room's consumer on the
 * socket; or says which route error refuses it.
 *
 * `?after=<seq>`: the client holds the room's log up to that `seq` (a
 * reconnect, or a page rendered with the history): the welcome then skips
 * the latest page and the consumer answers as it answers `resume {after}`.
 *
 * @example
 * ```ts
 * const opened = await openChatSocket(services, request);
 * return opened.ok ? opened.response : routeError(c, opened.error);
 * ```
 */
export async function openChatSocket(
  services: Services,
  request: ChatSocketRequest,
): Promise<ChatSocketAnswer> {
  if (request.header("upgrade")?.toLowerCase() !== "websocket") {
    return { ok: false, error: "upgrade_required" };
  }
  const room = normalizeRoomName(request.room);
  if (!room || room !== request.room) return { ok: false, error: "bad_room" };
  const after = parseSeqParam(request.after);
  if (after === null) return { ok: false, error: "bad_after" };
  const { session } = request;
  if (!session) return { ok: false, error: "unauthorized" };
  if (
    !isAllowedOrigin(
      request.header("origin"),
      request.url,
      services.config.allowedOrigins,
    )
  ) {
    services.log.warn("ws.origin_refused", { room });
    return { ok: false, error: "forbidden_origin" };
  }
  const { user } = session;
  // A public room's record is read once for all its newcomers asking
  // together (a restart brings the whole room back at once).
  const infoReads = sharedRoomInfo(services.rooms);
  if (!await maySeeRoom(services.rooms, room, user, (r) => infoReads.get(r))) {
    return { ok: false, error: "not_found" };
  }
  const ip = request.address;
  const refusal = overCaps(services, user.id, ip);
  if (refusal) {
    services.metrics.drop(`refused_${refusal}`);
    services.log.warn("ws.refused", { room, reason: refusal });
    return { ok: false, error: "too_many_connections" };
  }
  const upgrade = request.upgrade({ idleTimeout: WS_IDLE_TIMEOUT_S });
  if (!upgrade.ok) {
    // A handshake that cannot be accepted (no key, another version): the client's fault.
    services.log.warn("ws.bad_upgrade", { room });
    return { ok: false, error: "bad_upgrade" };
  }
  handleConnection(
    upgrade.socket,
    {
      room,
      ip,
      user,
      sessionId: session.sid,
      sessionCheckedAt: request.sessionCheckedAt,
      expiresAt: session.exp * 1000,
      after,
    },
    services,
    services.connections,
  );
  return { ok: true, response: upgrade.response };
}

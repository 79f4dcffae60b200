import { isAllowedOrigin } from "../../../lib/auth/origin.ts";
import { handleConnection } from "../../../lib/chat/consumer.ts";
import { normalizeRoomName } from "../../../lib/chat/protocol.ts";
import type { AppEnv } from "../../../lib/context.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/** Seconds without a pong before Deno drops a half-open socket. */
export const WS_IDLE_TIMEOUT_S = 60;

/**
 * The room's WebSocket. Everything is checked before the upgrade, because a
 * browser cannot read an HTTP error from a refused handshake but a test can:
 * room name (400), session (401), then Origin (403) — the upgrade is a GET, so
 * CSRF middleware does not cover it.
 */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    const { services, user, session } = c.var;
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({
        error: "upgrade_required",
        message: "This is a WebSocket endpoint.",
      }, 426);
    }
    const room = normalizeRoomName(c.req.param("room") ?? "");
    if (!room || room !== c.req.param("room")) {
      return c.json({
        error: "bad_room",
        message: "Room names are 1–64 of a-z, 0-9, '-', '_'.",
      }, 400);
    }
    if (!user || !session) {
      return c.json({ error: "unauthorized", message: "Sign in first." }, 401);
    }
    const origin = c.req.header("origin");
    if (
      !isAllowedOrigin(
        origin,
        new URL(c.req.url),
        services.config.allowedOrigins,
      )
    ) {
      services.log.warn("ws.origin_refused", { room });
      return c.json({
        error: "forbidden_origin",
        message: "This origin may not connect.",
      }, 403);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, {
      idleTimeout: WS_IDLE_TIMEOUT_S,
    });
    const scope = {
      room,
      user,
      sessionId: session.sid,
      expiresAt: session.exp * 1000,
      canPost: user.kind !== "guest" || services.config.allowGuests,
    };
    handleConnection(socket, scope, services, services.connections);
    return response;
  },
};

import type { MiddlewareHandler } from "hono";
import { normalizeRoomName } from "../../../../lib/chat/names.ts";
import { enterRoom } from "../../../../lib/chat/room_gate.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { routeError } from "../../../../lib/web/errors.ts";

/**
 * Every API of one room (`/api/rooms/:room/…`: history, posting, events,
 * settings, moderation, reports, audit, invites, members) answers 404 to
 * whoever may not see the room (`enterRoom`), before its own checks, so a
 * private room's name does not leak through any of them. A bad name is
 * left to the route (400).
 */
export const handler: MiddlewareHandler<AppEnv> = async (c, next) => {
  const room = normalizeRoomName(c.req.param("room") ?? "");
  if (room && !await enterRoom(c.get("services").rooms, room, c.get("user"))) {
    return routeError(c, "not_found");
  }
  await next();
};

import { closeReports } from "../../../../../lib/chat/moderation.ts";
import type { AppEnv } from "../../../../../lib/context.ts";
import { routeError } from "../../../../../lib/web/errors.ts";
import {
  outcomeResponse,
  roomActor,
} from "../../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../../lib/web/types.ts";

/**
 * `DELETE /api/rooms/:room/reports/:seq`: a moderator dismisses the
 * reports of message `:seq` (audited); `?resolved=1` closes them after
 * acting on the message instead (the action is the audit entry).
 */
export const handler: Handlers<AppEnv> = {
  async DELETE(c) {
    const actor = roomActor(c, "write");
    if (actor instanceof Response) return actor;
    const target = Number(c.req.param("seq"));
    if (!Number.isSafeInteger(target) || target < 1) {
      return routeError(c, "not_found");
    }
    const dismiss = c.req.query("resolved") !== "1";
    return outcomeResponse(
      c,
      await closeReports(c.get("services"), actor, target, dismiss),
      (closed) => ({ closed }),
    );
  },
};

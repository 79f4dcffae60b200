import { auditLog, MAX_AUDIT_PAGE } from "../../../../lib/chat/moderation.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { routeError } from "../../../../lib/web/errors.ts";
import { outcomeResponse, roomActor } from "../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/** Entries per audit page when the caller does not say. */
const DEFAULT_AUDIT_PAGE = 50;

/**
 * `GET /api/rooms/:room/audit?before=<id>&limit=`: the room's audit log,
 * newest first (owner and moderators); `next` is the `before` of the next page.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const actor = roomActor(c, "read");
    if (actor instanceof Response) return actor;
    const before = c.req.query("before") || undefined;
    const limit = Number(c.req.query("limit") ?? DEFAULT_AUDIT_PAGE);
    if (
      !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE ||
      (before !== undefined && !/^\d{15}-[0-9a-f]{8}$/.test(before))
    ) {
      return routeError(c, "bad_query");
    }
    return outcomeResponse(
      c,
      await auditLog(c.get("services"), actor, before, limit),
      (page) => ({ ...page }),
    );
  },
};

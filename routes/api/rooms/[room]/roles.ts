import { assignRole } from "../../../../lib/chat/moderation.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { routeError } from "../../../../lib/web/errors.ts";
import {
  outcomeResponse,
  personOf,
  roomWrite,
} from "../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

const ROLES = { moderator: "moderator", member: "member", none: null } as const;

/**
 * `PUT /api/rooms/:room/roles {user: {id, name}, role: "moderator" | "member" | "none"}`:
 * the owner promotes, demotes or removes someone.
 */
export const handler: Handlers<AppEnv> = {
  async PUT(c) {
    const request = await roomWrite(c);
    if (request instanceof Response) return request;
    const { actor, body } = request;
    const user = personOf(body.user);
    const role =
      typeof body.role === "string" && Object.hasOwn(ROLES, body.role)
        ? ROLES[body.role as keyof typeof ROLES]
        : undefined;
    if (!user || role === undefined) return routeError(c, "bad_json");
    return outcomeResponse(
      c,
      await assignRole(c.get("services"), actor, user, role),
      () => ({ ok: true }),
    );
  },
};

import { claimRoom, handOver } from "../../../../lib/chat/moderation.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { routeError } from "../../../../lib/web/errors.ts";
import {
  outcomeResponse,
  personOf,
  roomActor,
  roomWrite,
} from "../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/**
 * `POST /api/rooms/:room/owner {}`: a signed-in (Google) user claims an
 * ownerless room. `PUT /api/rooms/:room/owner {user: {id, name}}`: the
 * owner hands the room over (and stays a moderator).
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const actor = roomActor(c, "write");
    if (actor instanceof Response) return actor;
    return outcomeResponse(
      c,
      await claimRoom(c.get("services"), actor),
      (info) => ({ info }),
    );
  },

  async PUT(c) {
    const request = await roomWrite(c);
    if (request instanceof Response) return request;
    const { actor, body } = request;
    const to = personOf(body.user);
    if (!to) return routeError(c, "bad_json");
    return outcomeResponse(
      c,
      await handOver(c.get("services"), actor, to),
      (info) => ({ info }),
    );
  },
};

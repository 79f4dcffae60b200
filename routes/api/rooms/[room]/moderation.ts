import { moderate } from "../../../../lib/chat/moderation.ts";
import { validateModeration } from "../../../../lib/chat/protocol.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { refusalResponse } from "../../../../lib/web/errors.ts";
import { outcomeResponse, roomWrite } from "../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/**
 * `POST /api/rooms/:room/moderation {action: "mute"|"unmute"|"kick"|"ban"|"unban",
 * user: {id, name}, minutes?, reason?}`: the socket's `moderate` frame over
 * HTTP (the same checks); answers the audit entry.
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const request = await roomWrite(c);
    if (request instanceof Response) return request;
    const { actor, body } = request;
    const valid = validateModeration(body);
    if (!valid.ok) return refusalResponse(c, valid);
    return outcomeResponse(
      c,
      await moderate(c.get("services"), actor, valid.value),
      (entry) => ({ entry }),
      201,
    );
  },
};

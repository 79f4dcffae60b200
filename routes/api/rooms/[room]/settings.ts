import { changeSettings, roomAdmin } from "../../../../lib/chat/moderation.ts";
import { validateRoomSettings } from "../../../../lib/chat/protocol.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { refusalResponse } from "../../../../lib/web/errors.ts";
import {
  outcomeResponse,
  roomActor,
  roomWrite,
} from "../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/**
 * `GET /api/rooms/:room/settings`: the room's record and your standing;
 * for its moderators also the memberships, mutes and bans.
 * `PUT /api/rooms/:room/settings {title?, topic?, visibility?, postPolicy?,
 * slowModeSeconds?, guestsAllowed?}`: owner and moderators change them.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const actor = roomActor(c, "read");
    if (actor instanceof Response) return actor;
    return c.json(await roomAdmin(c.get("services"), actor));
  },

  async PUT(c) {
    const request = await roomWrite(c);
    if (request instanceof Response) return request;
    const { actor, body } = request;
    const services = c.get("services");
    const current = (await roomAdmin(services, actor)).info.settings;
    const valid = validateRoomSettings(body, current);
    if (!valid.ok) return refusalResponse(c, valid);
    return outcomeResponse(
      c,
      await changeSettings(services, actor, valid.value),
      (info) => ({ info }),
    );
  },
};

import { listReports, report } from "../../../../lib/chat/moderation.ts";
import { validateReport } from "../../../../lib/chat/protocol.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { refusalResponse } from "../../../../lib/web/errors.ts";
import {
  outcomeResponse,
  roomActor,
  roomWrite,
} from "../../../../lib/web/room_admin.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/**
 * `GET /api/rooms/:room/reports`: the open reports (moderators).
 * `POST /api/rooms/:room/reports {target, reason?}`: report a message (anyone signed in).
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const actor = roomActor(c, "read");
    if (actor instanceof Response) return actor;
    return outcomeResponse(
      c,
      await listReports(c.get("services"), actor),
      (reports) => ({ reports }),
    );
  },

  async POST(c) {
    const request = await roomWrite(c);
    if (request instanceof Response) return request;
    const { actor, body } = request;
    const valid = validateReport(body);
    if (!valid.ok) return refusalResponse(c, valid);
    return outcomeResponse(
      c,
      await report(c.get("services"), actor, valid.value),
      (open) => ({ ok: true, open }),
      201,
    );
  },
};

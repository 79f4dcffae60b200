import { normalizeRoomName } from "../../lib/chat/names.ts";
import type { AppEnv } from "../../lib/context.ts";
import type { Handlers } from "../../lib/web/types.ts";

/** The lobby's join form lands here: `/chat?room=X` → `/chat/x`. */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    const room = normalizeRoomName(c.req.query("room") ?? "");
    return c.redirect(room ? `/chat/${room}` : "/?error=room", 303);
  },
};

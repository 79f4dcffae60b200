import { normalizeRoomName } from "../../lib/chat/names.ts";
import type { AppEnv } from "../../lib/context.ts";
import type { Handlers } from "../../lib/web/types.ts";

/** The lobby's join form lands here: `/chat?room=X` → `/chat/x`. */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    const raw = c.req.query("room") ?? "";
    const room = normalizeRoomName(raw);
    if (room) return c.redirect(`/chat/${room}`, 303);
    // Back to the lobby, which says why and offers the name that would work.
    const back = new URLSearchParams({
      error: "room",
      room: raw.slice(0, 256),
    });
    return c.redirect(`/?${back}`, 303);
  },
};

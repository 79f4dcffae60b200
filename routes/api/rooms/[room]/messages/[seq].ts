import type { AppEnv } from "../../../../../lib/context.ts";
import { handleEvent } from "../../../../../lib/web/room_events.ts";
import type { Handlers } from "../../../../../lib/web/types.ts";

/**
 * `PATCH /api/rooms/:room/messages/:seq {text}`: edit your message.
 * `DELETE /api/rooms/:room/messages/:seq`: delete it (its text is erased).
 * `POST` with a form `action=delete|edit`: the same for the no-JS page.
 */
export const handler: Handlers<AppEnv> = {
  PATCH: (c) => handleEvent(c, "edit"),
  DELETE: (c) => handleEvent(c, "delete"),
  POST: (c) => handleEvent(c, "form"),
};

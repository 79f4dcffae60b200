import type { AppEnv } from "../../../../../../lib/context.ts";
import { handleEvent } from "../../../../../../lib/web/room_events.ts";
import type { Handlers } from "../../../../../../lib/web/types.ts";

/** `POST /api/rooms/:room/messages/:seq/reactions {emoji, on}`: put or take back a reaction. */
export const handler: Handlers<AppEnv> = {
  POST: (c) => handleEvent(c, "react"),
};

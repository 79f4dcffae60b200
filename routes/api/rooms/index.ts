import type { AppEnv } from "../../../lib/context.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/** `GET /api/rooms`: the lobby snapshot (people online and last activity per room). */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    c.header("Cache-Control", "no-store");
    return c.json({ rooms: await c.get("services").lobby.rooms() });
  },
};

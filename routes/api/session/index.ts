import type { AppEnv } from "../../../lib/context.ts";
import { routeError } from "../../../lib/web/errors.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/**
 * `GET /api/session`: who this session is (`{user}`), or 401 when there is
 * none. A browser cannot read why a WebSocket upgrade was refused, so the room
 * asks here to tell "signed out" from "server unreachable".
 */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    const user = c.get("user");
    c.header("Cache-Control", "no-store");
    return user ? c.json({ user }) : routeError(c, "unauthorized");
  },
};

import type { AppEnv } from "../lib/context.ts";
import type { Handlers } from "../lib/web/types.ts";

/** Liveness: the process answers. */
export const handler: Handlers<AppEnv> = {
  GET(c) {
    return c.json({
      ok: true,
      connections: c.get("services").connections.size,
    });
  },
};

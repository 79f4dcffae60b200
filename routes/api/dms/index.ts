import { conversationsOf, openDirect } from "../../../lib/chat/direct.ts";
import type { AppEnv } from "../../../lib/context.ts";
import { readBody } from "../../../lib/web/body.ts";
import { routeError } from "../../../lib/web/errors.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/**
 * `GET /api/dms`: your conversations with unread counts (a guest has none).
 * `POST /api/dms {with: userId}`: opens (or finds again) the conversation
 * with that person — JSON `{room}`, or a form (the presence list's
 * "Message" button) redirected into the room. Both people must be signed in
 * with Google (403 `dm_guest` says why); the other person is looked up in
 * the directory, never taken from the request.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const services = c.get("services");
    const user = c.get("user");
    if (!user) return routeError(c, "unauthorized");
    c.header("Cache-Control", "no-store");
    if (user.kind === "guest") return c.json({ conversations: [] });
    return c.json({ conversations: await conversationsOf(services, user.id) });
  },

  async POST(c) {
    const services = c.get("services");
    const user = c.get("user");
    const body = await readBody(c);
    if (!body.ok) return routeError(c, body.error);
    if (!user) return routeError(c, "unauthorized");
    if (user.kind === "guest") return routeError(c, "dm_guest");
    const otherId = body.value.with;
    const other = typeof otherId === "string"
      ? await services.directory.byId(otherId)
      : null;
    if (!other) return routeError(c, "unknown_person");
    const opened = await openDirect(services, user, other);
    if (!opened.ok) {
      switch (opened.reason) {
        case "guest":
          return routeError(c, "dm_guest");
        case "self":
          return routeError(c, "dm_self");
        case "taken":
          services.log.warn("dm.taken", { user: user.id });
          return routeError(c, "internal");
        default: {
          const _exhaustive: never = opened.reason;
          return routeError(c, "internal");
        }
      }
    }
    if (body.form) return c.redirect(`/chat/${opened.room}`, 303);
    return c.json({
      room: opened.room,
      with: { id: other.id, name: other.name },
    });
  },
};

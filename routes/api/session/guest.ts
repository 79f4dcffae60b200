import { createGuest } from "../../../lib/auth/guest.ts";
import { setSessionCookie } from "../../../lib/auth/cookie.ts";
import type { AppEnv } from "../../../lib/context.ts";
import { localPath, readBody } from "../../../lib/web/body.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/**
 * `POST /api/session/guest {name}`: JSON in, JSON out; or a form post from
 * the no-JS page, answered with a redirect to `next`.
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const { services } = c.var;
    const body = await readBody(c);
    if (!body.ok) {
      return c.json({ error: body.error, message: body.message }, body.status);
    }
    const next = localPath(body.value.next);
    if (!services.config.allowGuests) {
      return c.json({
        error: "guests_disabled",
        message: "Guest access is turned off.",
      }, 403);
    }
    const user = createGuest(body.value.name);
    if (!user) {
      if (body.form) return c.redirect(`${next}?error=name`, 303);
      return c.json({
        error: "bad_name",
        message: "Display names are 1–32 characters.",
      }, 400);
    }
    setSessionCookie(
      c,
      await services.sessions.sign(user),
      services.sessions.ttlSeconds,
    );
    services.log.info("session.guest", { user: user.id });
    return body.form ? c.redirect(next, 303) : c.json({ user });
  },
};

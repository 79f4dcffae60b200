import { createGuest } from "../../../lib/auth/guest.ts";
import { setSessionCookie } from "../../../lib/auth/cookie.ts";
import type { AppEnv } from "../../../lib/context.ts";
import { localPath, readBody } from "../../../lib/web/body.ts";
import { rateLimited } from "../../../lib/chat/protocol.ts";
import { refusalResponse, routeError } from "../../../lib/web/errors.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/**
 * `POST /api/session/guest {name}`: JSON in, JSON out; or a form post from
 * the no-JS page, answered with a redirect to `next`.
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const services = c.get("services");
    const body = await readBody(c);
    if (!body.ok) {
      return routeError(c, body.error);
    }
    const next = localPath(body.value.next);
    if (!services.config.allowGuests) {
      return routeError(c, "guests_disabled");
    }
    const user = createGuest(body.value.name);
    if (!user) {
      if (body.form) return c.redirect(`${next}?error=name`, 303);
      return routeError(c, "bad_name");
    }
    // Guest sessions are free to make, so they are limited per address:
    // otherwise per-person budgets would be per throwaway identity.
    const wait = services.budgets.guests?.take(c.get("client").address) ?? 0;
    if (wait > 0) {
      services.metrics.drop("refused_guest_rate");
      if (body.form) return c.redirect(`${next}?error=rate_limited`, 303);
      return refusalResponse(c, rateLimited(wait));
    }
    setSessionCookie(
      c,
      await services.sessions.sign(user),
      services.sessions.ttlSeconds,
    );
    // Known by name while the session may live ("add by name").
    await services.directory.remember(
      user,
      services.sessions.ttlSeconds * 1000,
    );
    services.log.info("session.guest", { user: user.id });
    return body.form ? c.redirect(next, 303) : c.json({ user });
  },
};

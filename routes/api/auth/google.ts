import { getCookie } from "hono/cookie";
import { setSessionCookie } from "../../../lib/auth/cookie.ts";
import { GoogleAuthError, googleUserId } from "../../../lib/auth/google.ts";
import { fromAllowedOrigin } from "../../../lib/web/same_origin.ts";
import type { ChatUser } from "../../../lib/chat/types.ts";
import type { AppEnv } from "../../../lib/context.ts";
import { localPath, readBody } from "../../../lib/web/body.ts";
import { refusalResponse, routeError } from "../../../lib/web/errors.ts";
import { rateLimited } from "../../../lib/chat/protocol.ts";
import type { Handlers } from "../../../lib/web/types.ts";
import { CSRF_HEADER } from "../../../lib/shared.ts";

const MESSAGES: Record<string, string> = {
  malformed: "That is not a Google credential.",
  bad_signature: "The credential's signature did not verify.",
  expired: "The credential has expired; sign in again.",
  not_yet_valid: "The credential is not valid yet; check your clock.",
  wrong_audience: "The credential was issued for another application.",
  wrong_issuer: "The credential was not issued by Google.",
  email_unverified: "Your Google account's email address is not verified.",
  domain_not_allowed: "Your Google account's domain may not sign in here.",
  keys_unavailable:
    "Google's signing keys could not be fetched; try again shortly.",
};

/**
 * `POST /api/auth/google`: verifies a Google ID token and starts our own
 * session. Two callers:
 * - the SignIn island (GIS popup/FedCM callback): JSON `{credential}` with
 *   the {@link CSRF_HEADER} header, from an allowed Origin;
 * - GIS redirect mode (`login_uri`): a form post with `credential` and
 *   `g_csrf_token`, which must equal the `g_csrf_token` cookie (double submit).
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const services = c.get("services");
    if (!services.google) {
      return routeError(c, "google_disabled");
    }
    const body = await readBody(c);
    if (!body.ok) {
      return routeError(c, body.error);
    }
    if (body.form) {
      const cookieToken = getCookie(c, "g_csrf_token");
      const bodyToken = body.value.g_csrf_token;
      if (
        !cookieToken || typeof bodyToken !== "string" ||
        cookieToken !== bodyToken
      ) {
        return routeError(c, "csrf");
      }
    } else {
      if (!fromAllowedOrigin(c) || c.req.header(CSRF_HEADER) !== "1") {
        return routeError(c, "csrf");
      }
    }
    let user: ChatUser;
    try {
      const profile = await services.google.verify(body.value.credential);
      const wait = services.budgets.signIns.take(profile.sub);
      if (wait > 0) {
        services.metrics.drop("rate_limited");
        return refusalResponse(c, rateLimited(wait));
      }
      await services.users.upsertGoogle(profile);
      user = {
        id: await googleUserId(profile.sub),
        name: profile.name,
        kind: "google",
      };
      if (profile.picture) user.picture = profile.picture;
    } catch (err) {
      if (!(err instanceof GoogleAuthError)) throw err;
      // The reason only: never the token.
      services.log.warn("auth.google_refused", { reason: err.reason });
      const status = err.reason === "keys_unavailable" ? 503 : 401;
      return c.json(
        { error: err.reason, message: MESSAGES[err.reason] },
        status,
      );
    }
    setSessionCookie(
      c,
      await services.sessions.sign(user),
      services.sessions.ttlSeconds,
    );
    // Known by name and id while the session may live ("add by name", direct messages).
    await services.directory.remember(
      user,
      services.sessions.ttlSeconds * 1000,
    );
    services.log.info("auth.google", { user: user.id });
    return body.form
      ? c.redirect(localPath(c.req.query("next")), 303)
      : c.json({ user });
  },
};

import { clearSessionCookie } from "../../../lib/auth/cookie.ts";
import { CloseCode } from "../../../lib/shared.ts";
import type { AppEnv } from "../../../lib/context.ts";
import { localPath, readBody } from "../../../lib/web/body.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/** `POST /api/session/signout`: revokes the session, clears the cookie, closes its sockets (session ended). */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const services = c.get("services");
    const user = c.get("user");
    const session = c.get("session");
    const body = await readBody(c);
    clearSessionCookie(c);
    if (user && session) {
      // Renewals keep the session id, so a later-expiring renewal of this
      // token may exist: the revocation lasts as long as any could.
      const untilMs = Date.now() + services.sessions.ttlSeconds * 1000;
      // Every instance's sockets notice within SESSION_RECHECK_MS; this one's close now.
      await services.revocations.revoke(session.sid, untilMs);
      const closed = services.connections.closeWhere(
        (scope) => scope.sessionId === session.sid,
        CloseCode.sessionEnded,
        "signed out",
      );
      services.log.info("session.signout", { user: user.id, closed });
    }
    const form = body.ok && body.form;
    return form
      ? c.redirect(localPath(body.value.next), 303)
      : c.json({ ok: true });
  },
};

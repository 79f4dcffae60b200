import { clearSessionCookie } from "../../../lib/auth/cookie.ts";
import { CloseCode } from "../../../lib/chat/consumer.ts";
import type { AppEnv } from "../../../lib/context.ts";
import { localPath, readBody } from "../../../lib/web/body.ts";
import type { Handlers } from "../../../lib/web/types.ts";

/** `POST /api/session/signout`: clears the cookie and closes this user's sockets with 1008. */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const { services, user } = c.var;
    const body = await readBody(c);
    clearSessionCookie(c);
    if (user) {
      const closed = services.connections.closeWhere(
        (scope) => scope.user.id === user.id,
        CloseCode.policy,
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

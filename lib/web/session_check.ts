/**
 * The one session check of a request: the token verified, then asked about
 * revocations (signed out anywhere). The session middleware runs it for
 * every page and API request; the listener's WebSocket lane for the chat
 * sockets it opens without the router.
 *
 * @module
 */

import type { Session } from "../auth/session.ts";
import type { Services } from "../context.ts";

/** A request's session (null: none, forged, expired or revoked) and when it was checked. */
export interface CheckedSession {
  session: Session | null;
  /**
   * When revocations were asked about (`performance.now()`): a socket opened
   * with the session needs no re-check read for older revocations.
   */
  checkedAt: number;
}

/**
 * Verifies `token` and asks whether its session was revoked.
 *
 * @example
 * ```ts
 * const { session } = await checkSession(services, readSessionToken(c));
 * if (!session) return routeError(c, "unauthorized");
 * ```
 */
export async function checkSession(
  services: Pick<Services, "sessions" | "revocations">,
  token: string | undefined,
): Promise<CheckedSession> {
  const verified = await services.sessions.verify(token);
  const checkedAt = performance.now();
  const revoked = verified !== null &&
    (await services.revocations.revokedAmong([verified.sid])).size > 0;
  return { session: revoked ? null : verified, checkedAt };
}

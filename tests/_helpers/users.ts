/**
 * Signed-in people for tests: a session minted with the server's own signer
 * (Google users without a Google), known to the directory as a real sign-in
 * makes them.
 */
import { SESSION_COOKIE } from "../../lib/auth/session.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import type { GuestSession } from "../../support/guest.ts";
import type { TestServer } from "./server.ts";

/** A Google user named `name` (id `google:<name lower case>`). */
export function googleUser(name: string): ChatUser {
  return { id: `google:${name.toLowerCase()}`, name, kind: "google" };
}

/** Signs `user` in on `server`: the cookie, as a sign-in would set it. */
export async function signIn(
  server: Pick<TestServer, "services">,
  user: ChatUser,
): Promise<GuestSession> {
  const { sessions, directory } = server.services;
  const token = await sessions.sign(user);
  await directory.remember(user, sessions.ttlSeconds * 1000);
  return { cookie: `${SESSION_COOKIE}=${token}`, user, token };
}

/**
 * Guest sign-in through the real endpoint (`POST /api/session/guest`), as a
 * browser's script does it: for tests and `bench/`, which need session
 * cookies for their WebSocket clients. Imports neither.
 *
 * @module
 */
import { SESSION_COOKIE } from "../lib/auth/session.ts";
import type { ChatUser } from "../lib/chat/types.ts";

/** A signed-in guest. */
export interface GuestSession {
  /** The `Cookie` header value: `roomcast_session=<token>`. */
  cookie: string;
  user: ChatUser;
  /** The session token alone (for `Authorization: Bearer`). */
  token: string;
}

/** Options of {@link signInGuest}. */
export interface SignInOptions {
  /** Aborts the request (e.g. `AbortSignal.timeout(ms)`). */
  signal?: AbortSignal;
  /**
   * The HTTP client; one that keeps no idle connection reaches whichever
   * worker the kernel picks for a new connection.
   */
  client?: Deno.HttpClient;
}

/**
 * Signs in the guest `name` at `origin` (sending that `Origin`, as the CSRF
 * check wants); rejects on any answer but 200 or without a session cookie.
 *
 * @example
 * ```ts
 * const { cookie, user } = await signInGuest("http://127.0.0.1:8000", "Ana");
 * ```
 */
export async function signInGuest(
  origin: string,
  name: string,
  options: SignInOptions = {},
): Promise<GuestSession> {
  const res = await fetch(`${origin}/api/session/guest`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ name }),
    signal: options.signal,
    client: options.client,
  });
  if (!res.ok) {
    throw new Error(`guest sign-in failed: ${res.status} ${await res.text()}`);
  }
  const { user } = await res.json() as { user: ChatUser };
  const cookie = res.headers.getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie) throw new Error(`guest sign-in: no ${SESSION_COOKIE} cookie`);
  return { cookie, user, token: cookie.slice(SESSION_COOKIE.length + 1) };
}

/** {@link signInGuest}'s `Cookie` header value alone. */
export async function guestCookie(
  origin: string,
  name: string,
  options: SignInOptions = {},
): Promise<string> {
  return (await signInGuest(origin, name, options)).cookie;
}

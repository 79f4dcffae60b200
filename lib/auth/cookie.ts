/**
 * The session cookie: HttpOnly, SameSite=Lax, Secure when the request came
 * over https (directly or through a proxy that says so).
 *
 * @module
 */

import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { parse as parseCookies } from "hono/utils/cookie";
import { SESSION_COOKIE } from "./session.ts";
import type { ClientInfo } from "../web/client_address.ts";

/**
 * Whether the request came over https, directly or through a trusted proxy
 * that says so (see `resolveClient`, which the root middleware runs first).
 */
export function isHttps(c: Context): boolean {
  const client = c.get("client") as ClientInfo | undefined;
  return client?.https ?? new URL(c.req.url).protocol === "https:";
}

/** Sets the session cookie to `token` for `maxAgeSeconds`. */
export function setSessionCookie(
  c: Context,
  token: string,
  maxAgeSeconds: number,
): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    secure: isHttps(c),
    path: "/",
    maxAge: maxAgeSeconds,
  });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isHttps(c) });
}

/** The session token from the cookie or an `Authorization: Bearer` header. */
export function readSessionToken(c: Context): string | undefined {
  return sessionTokenOf(c.req.header("authorization"), c.req.header("cookie"));
}

/**
 * {@link readSessionToken} from the two fields themselves: a Bearer token
 * wins over the cookie (as Hono's `getCookie` reads it).
 *
 * @example
 * ```ts
 * sessionTokenOf(undefined, "theme=dark; roomcast_session=abc"); // "abc"
 * sessionTokenOf("Bearer xyz", "roomcast_session=abc");          // "xyz"
 * ```
 */
export function sessionTokenOf(
  authorization: string | null | undefined,
  cookie: string | null | undefined,
): string | undefined {
  if (authorization?.startsWith("Bearer ")) {
    return authorization.slice(7).trim();
  }
  if (!cookie) return undefined;
  return parseCookies(cookie, SESSION_COOKIE)[SESSION_COOKIE];
}

/**
 * The session cookie: HttpOnly, SameSite=Lax, Secure when the request came
 * over https (directly or through a proxy that says so).
 *
 * @module
 */

import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
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
  const auth = c.req.header("authorization");
  if (auth?.startsWith("Bearer ")) return auth.slice(7).trim();
  return getCookie(c, SESSION_COOKIE);
}

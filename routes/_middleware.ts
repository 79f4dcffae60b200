import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { readSessionToken, setSessionCookie } from "../lib/auth/cookie.ts";
import type { AppEnv } from "../lib/context.ts";

/** Strict CSP: scripts only from this origin or with the response's nonce. */
const security: MiddlewareHandler = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", NONCE],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:", "https:"],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
  },
  referrerPolicy: "strict-origin-when-cross-origin",
  crossOriginOpenerPolicy: "same-origin-allow-popups",
  xFrameOptions: "DENY",
});

/** Puts the verified session (cookie or Bearer) and its user on the context; renews it past half-life. */
const session: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { sessions } = c.var.services;
  const current = await sessions.verify(readSessionToken(c));
  c.set("session", current);
  c.set("user", current?.user ?? null);
  // Decided before `next`: after a WebSocket upgrade the request can no longer be read.
  const renew = current !== null && !c.req.header("authorization") &&
    c.req.header("upgrade") === undefined &&
    Date.now() / 1000 - current.iat > sessions.ttlSeconds / 2;
  await next();
  // Sliding renewal for cookie sessions, unless the handler replaced or cleared the cookie.
  if (renew && !c.res.headers.has("set-cookie")) {
    setSessionCookie(c, await sessions.sign(current.user), sessions.ttlSeconds);
  }
};

/**
 * Security headers for every response but a WebSocket upgrade: a 101 carries
 * no document, and rewriting its headers would detach it from the socket.
 */
const headers: MiddlewareHandler<AppEnv> = (c, next) =>
  c.req.header("upgrade")?.toLowerCase() === "websocket"
    ? next()
    : security(c, next);

export const handler = [headers, session];

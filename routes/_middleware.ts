import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { readSessionToken, setSessionCookie } from "../lib/auth/cookie.ts";
import type { AppEnv } from "../lib/context.ts";

/** Strict CSP: scripts only from this origin or with the response's nonce. */
const security = secureHeaders({
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
  const token = readSessionToken(c);
  const current = await sessions.verify(token);
  c.set("session", current);
  c.set("user", current?.user ?? null);
  await next();
  // Sliding renewal for cookie sessions, unless the handler replaced or cleared the cookie.
  if (
    current && !c.req.header("authorization") &&
    !c.res.headers.has("set-cookie") &&
    Date.now() / 1000 - current.iat > sessions.ttlSeconds / 2
  ) {
    setSessionCookie(c, await sessions.sign(current.user), sessions.ttlSeconds);
  }
};

export const handler = [security, session];

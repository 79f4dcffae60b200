import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import {
  isHttps,
  readSessionToken,
  setSessionCookie,
} from "../lib/auth/cookie.ts";
import type { AppEnv } from "../lib/context.ts";
import { isAllowedHost } from "../lib/auth/origin.ts";
import { logRequest } from "../lib/web/access_log.ts";
import { resolveClient } from "../lib/web/client_address.ts";
import { checkSession } from "../lib/web/session_check.ts";
import { routeError } from "../lib/web/errors.ts";
import { GOOGLE_GSI as GIS } from "../lib/shared.ts";

/** Strict CSP: scripts only from this origin or with the response's nonce. */
function securityHeaders(google: boolean): MiddlewareHandler {
  const extra = (source: string) => google ? [source] : [];
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", NONCE, ...extra(GIS.script)],
      styleSrc: ["'self'", ...extra(GIS.style)],
      imgSrc: ["'self'", "data:", "https:"],
      fontSrc: ["'self'"],
      connectSrc: ["'self'", ...extra(GIS.connect)],
      frameSrc: google ? [GIS.frame] : ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    referrerPolicy: "strict-origin-when-cross-origin",
    crossOriginOpenerPolicy: "same-origin-allow-popups",
    xFrameOptions: "DENY",
    // HSTS only over https (below): on plain http it is meaningless.
    strictTransportSecurity: false,
  });
}

const withGoogle = securityHeaders(true);
const withoutGoogle = securityHeaders(false);

/** HSTS for a year when the request came over https (directly or via a proxy that says so). */
const HSTS = "max-age=31536000; includeSubDomains";

/** Built and static files, served by lib/server.ts after the routes. */
const isAsset = (path: string) =>
  path.startsWith("/_build/") || path.startsWith("/static/");

/** Puts the verified session (cookie or Bearer) and its user on the context; renews it past half-life. */
const session: MiddlewareHandler<AppEnv> = async (c, next) => {
  // Assets need headers, not a session: skip the JWT and KV work for them.
  if (isAsset(c.req.path)) {
    c.set("session", null);
    c.set("user", null);
    return await next();
  }
  const services = c.get("services");
  const { sessions } = services;
  const { session: current, checkedAt } = await checkSession(
    services,
    readSessionToken(c),
  );
  c.set("sessionCheckedAt", checkedAt);
  c.set("session", current);
  c.set("user", current?.user ?? null);
  // Decided before `next`: after a WebSocket upgrade the request can no longer be read.
  const renew = current !== null && !c.req.header("authorization") &&
    c.req.header("upgrade") === undefined &&
    Date.now() / 1000 - current.iat > sessions.ttlSeconds / 2;
  await next();
  // Sliding renewal for cookie sessions, unless the handler replaced or cleared the cookie.
  if (renew && current && !c.res.headers.has("set-cookie")) {
    setSessionCookie(
      c,
      await sessions.sign(current.user, current.sid),
      sessions.ttlSeconds,
    );
    // Still known by name and id while the renewed session may live.
    await services.directory.remember(
      current.user,
      sessions.ttlSeconds * 1000,
    );
  }
};

/**
 * Security headers for every response but a WebSocket upgrade: a 101 carries
 * no document, and rewriting its headers would detach it from the socket.
 */
const headers: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
    return await next();
  }
  const security = c.get("services").google ? withGoogle : withoutGoogle;
  await security(c, next);
  if (isHttps(c)) c.res.headers.set("Strict-Transport-Security", HSTS);
};

/**
 * A request id on every request (a random UUID, echoed as `X-Request-Id`)
 * and one JSON log line per page or API request: method, path, status, time.
 * Never query strings, bodies or tokens. Our own ids only: a client-chosen
 * `X-Request-Id` would be logged verbatim. (Hono's `requestId` with its
 * header read turned off did the same inside one more async wrapper per
 * request; a reconnect storm makes 10,000 requests in seconds.)
 */
const ids: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  c.header("X-Request-Id", id);
  await next();
};

/**
 * Where the request came from, through trusted proxies only: set before
 * anything reads it. A `Host` outside `ALLOWED_HOSTS` (when set) is refused
 * first: same-origin checks compare against it.
 */
const client: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { allowedHosts } = c.get("services").config;
  if (!isAllowedHost(c.req.header("host"), allowedHosts)) {
    return routeError(c, "bad_host");
  }
  c.set("client", resolveClient(c, c.get("services").trustedProxies));
  await next();
};
const access: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  // Read before `next`: after a WebSocket upgrade the request can no longer be read.
  const path = c.req.path;
  const method = c.req.method;
  await next();
  if (isAsset(path)) return;
  logRequest(c.get("services").log, {
    id: c.get("requestId"),
    method,
    path,
    status: c.res.status,
    started,
  });
};

export const handler = [client, ids, access, headers, session];

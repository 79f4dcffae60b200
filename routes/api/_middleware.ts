import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { isAllowedOrigin } from "../../lib/auth/origin.ts";
import type { AppEnv } from "../../lib/context.ts";

/** Where Google's redirect mode posts from; allowed on its callback only, which checks g_csrf_token itself. */
const GOOGLE_REDIRECT = {
  origin: "https://accounts.google.com",
  path: "/api/auth/google",
};

/** State-changing API calls from a browser must come from an allowed origin (Hono's csrf). */
export const handler: MiddlewareHandler<AppEnv> = csrf({
  origin: (origin, c) =>
    isAllowedOrigin(
      origin,
      new URL(c.req.url),
      c.get("services").config.allowedOrigins,
    ) ||
    (origin === GOOGLE_REDIRECT.origin && c.req.path === GOOGLE_REDIRECT.path),
});

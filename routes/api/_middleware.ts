import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { fromAllowedOrigin } from "../../lib/web/same_origin.ts";
import type { AppEnv } from "../../lib/context.ts";

/** Where Google's redirect mode posts from; allowed on its callback only, which checks g_csrf_token itself. */
const GOOGLE_REDIRECT = {
  origin: "https://accounts.google.com",
  path: "/api/auth/google",
};

/** State-changing API calls from a browser must come from an allowed origin (Hono's csrf). */
export const handler: MiddlewareHandler<AppEnv> = csrf({
  origin: (origin, c) =>
    fromAllowedOrigin(c) ||
    (origin === GOOGLE_REDIRECT.origin && c.req.path === GOOGLE_REDIRECT.path),
});

import { csrf } from "hono/csrf";
import { isAllowedOrigin } from "../../lib/auth/origin.ts";
import type { AppEnv } from "../../lib/context.ts";
import type { MiddlewareHandler } from "hono";

/** State-changing API calls from a browser must come from an allowed origin (Hono's csrf). */
export const handler: MiddlewareHandler<AppEnv> = csrf({
  origin: (origin, c) =>
    isAllowedOrigin(
      origin,
      new URL(c.req.url),
      c.var.services.config.allowedOrigins,
    ),
});

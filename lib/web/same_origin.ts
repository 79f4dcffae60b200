/**
 * Whether a request comes from one of Roomcast's own pages: its `Origin` is
 * the request's own origin or one of `ALLOWED_ORIGINS`. The one
 * check behind the API's CSRF guard, the WebSocket upgrade, Google's sign-in
 * and an invitation's join.
 *
 * @module
 */

import type { Context } from "hono";
import { isAllowedOrigin } from "../auth/origin.ts";
import type { AppEnv } from "../context.ts";

/**
 * {@link isAllowedOrigin} of `c`'s `Origin` against its own URL and the
 * configured origins.
 *
 * @example
 * ```ts
 * if (!fromAllowedOrigin(c)) return routeError(c, "forbidden_origin");
 * ```
 */
export function fromAllowedOrigin(c: Context<AppEnv>): boolean {
  return isAllowedOrigin(
    c.req.header("origin"),
    new URL(c.req.url),
    c.get("services").config.allowedOrigins,
  );
}

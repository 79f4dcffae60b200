/**
 * Who is on the other end of a request, as far as this process can tell.
 *
 * @module
 */

import type { Context } from "hono";
import { getConnInfo } from "hono/deno";

/**
 * The peer's address (the proxy's, behind one), or "unknown".
 *
 * @example
 * ```ts
 * const ip = clientAddress(c); // "127.0.0.1"
 * ```
 */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

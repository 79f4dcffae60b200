/**
 * The access log's line: one per page, API or WebSocket request, written
 * by the routes' middleware and by the listener's WebSocket lane alike.
 *
 * @module
 */

import type { Logger } from "../log.ts";

/** What the access line says of a request: never its query, body or tokens. */
export interface AccessEntry {
  /** The request id (ours, sent as `X-Request-Id`). */
  id: string;
  method: string;
  /** The path, without the query. */
  path: string;
  status: number;
  /** When the request began (`performance.now()`). */
  started: number;
}

/**
 * Logs `http.request` at info for `entry`.
 *
 * @example
 * ```ts
 * logRequest(log, { id, method: "GET", path: "/", status: 200, started });
 * ```
 */
export function logRequest(log: Logger, entry: AccessEntry): void {
  log.info("http.request", {
    id: entry.id,
    method: entry.method,
    path: entry.path,
    status: entry.status,
    ms: Math.round(performance.now() - entry.started),
  });
}

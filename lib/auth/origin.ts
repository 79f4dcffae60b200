/**
 * Origin checks for the WebSocket handshake and state-changing requests
 * (cross-site WebSocket hijacking and CSRF). Browsers always send `Origin` on
 * WebSocket handshakes, so a missing one is refused too.
 *
 * @module
 */

/**
 * Whether `origin` may talk to the server at `requestUrl`: the request's own
 * origin, or one listed in `allowed`.
 *
 * @example
 * ```ts
 * isAllowedOrigin("http://localhost:8000", new URL("http://localhost:8000/ws/chat/a"), []); // true
 * isAllowedOrigin("https://evil.test", new URL("http://localhost:8000/ws/chat/a"), []);     // false
 * ```
 */
export function isAllowedOrigin(
  origin: string | null | undefined,
  requestUrl: URL,
  allowed: readonly string[],
): boolean {
  if (!origin || origin === "null") return false;
  return origin === requestUrl.origin || allowed.includes(origin);
}

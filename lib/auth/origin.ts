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

/**
 * Whether a request's `Host` is one `ALLOWED_HOSTS` names (with or without
 * its port); any host when none is named. Same-origin checks compare against
 * the `Host`, so a host the operator did not name is refused first.
 *
 * @example
 * ```ts
 * isAllowedHost("chat.example:8000", ["chat.example"]); // true
 * isAllowedHost("evil.example", ["chat.example"]);      // false
 * isAllowedHost("anything", []);                        // true
 * ```
 */
export function isAllowedHost(
  host: string | null | undefined,
  allowed: readonly string[],
): boolean {
  if (allowed.length === 0) return true;
  const named = (host ?? "").toLowerCase();
  return allowed.includes(named) ||
    allowed.includes(named.replace(/:\d+$/, ""));
}

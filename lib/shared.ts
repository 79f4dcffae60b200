/**
 * Constants the server and the browser must agree on, in one place: close
 * codes, the CSRF header, Google's script, and the frame prefixes the server
 * matches on without parsing. Pure: safe to import from islands.
 *
 * @module
 */

/**
 * WebSocket close codes the server sends and the client acts on.
 *
 * @example
 * ```ts
 * socket.close(CloseCode.restart, "server restarting");
 * ```
 */
export const CloseCode = {
  normal: 1000,
  /** Policy violation: flood, or the session ended. */
  policy: 1008,
  /** The server is restarting: reconnect. */
  restart: 1012,
  /** Try again later: the client fell too far behind. */
  tryAgain: 1013,
} as const;

/** Close codes after which reconnecting cannot help (the session ended). */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.policy,
]);

/**
 * Header the SignIn island sends with a Google credential: a cross-site page
 * cannot send it without a CORS preflight we never grant.
 */
export const CSRF_HEADER = "x-roomcast-csrf";

/**
 * What Google Identity Services loads: the script (the only external script
 * the CSP allows, and only when Google sign-in is on), and the origins of its
 * frame, fetches and style sheet.
 */
export const GOOGLE_GSI = {
  script: "https://accounts.google.com/gsi/client",
  frame: "https://accounts.google.com/gsi/",
  connect: "https://accounts.google.com/gsi/",
  style: "https://accounts.google.com/gsi/style",
} as const;

/**
 * How server frames begin, for the hot paths that recognise a frame by a
 * string prefix instead of parsing it. `encodeServerFrame` writes `type`
 * first, so these hold for every frame it produces.
 */
export const FramePrefix = {
  typing: '{"type":"typing"',
  presence: '{"type":"presence"',
  resync: '{"type":"resync"',
} as const;

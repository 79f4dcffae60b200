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
  /** Policy violation with no more specific code. */
  policy: 1008,
  /** A frame was larger than the server accepts. */
  tooBig: 1009,
  /** The server failed; reconnecting may help. */
  internal: 1011,
  /** The server is restarting: reconnect (to another instance, behind a balancer). */
  restart: 1012,
  /** Try again later: the client fell too far behind, or joining failed. */
  tryAgain: 1013,
  /** The session expired, was signed out or revoked: sign in again (terminal). */
  sessionEnded: 4001,
  /** Removed from the room by a moderator; may come back. */
  kicked: 4003,
  /** Banned from the room (terminal). */
  banned: 4004,
  /**
   * The room is for its members only now (made private, or the membership
   * taken away) and this person is not one (terminal: loading the page again
   * tells whether they were let back in).
   */
  noAccess: 4005,
  /** Closed for flooding: reconnect after a pause, and send slower. */
  rateLimited: 4029,
} as const;

/** Close codes after which reconnecting cannot help: a session that really ended, a ban, or no access to a private room. */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.sessionEnded,
  CloseCode.banned,
  CloseCode.noAccess,
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
  /** Between instances only (`ControlFrame`): a connection acts on it, never forwards it. */
  control: '{"type":"control"',
  /** Open reports: only moderators' sockets forward it. */
  reports: '{"type":"reports"',
  /** The room's record changed: each socket checks it may still see the room. */
  room: '{"type":"room"',
} as const;

/**
 * Every error a route answers with, each with one status and one wording, and
 * the one helper that answers with them: `{error, message}` as JSON for API
 * clients, or the app's error page for a browser (chosen by `Accept`).
 *
 * @module
 */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MAX_PAGE_SIZE, type Refusal } from "../chat/protocol.ts";
import {
  MAX_INVITE_HOURS,
  MAX_INVITE_USES,
  MAX_LISTED_INVITES,
} from "../chat/invites.ts";

/** Route error codes: the HTTP status and the one sentence a client sees. */
export const ROUTE_ERRORS = {
  bad_room: {
    status: 400,
    message:
      "Room names are 1–64 characters: lower-case letters a–z, digits 0–9, '-' and '_'.",
  },
  bad_query: {
    status: 400,
    message: `before/after are sequence numbers; limit is 1–${MAX_PAGE_SIZE}.`,
  },
  bad_after: {
    status: 400,
    message: "after must be a sequence number: a whole number from 0 up.",
  },
  bad_name: { status: 400, message: "Display names are 1–32 characters." },
  bad_host: {
    status: 400,
    message: "This server does not answer to that host.",
  },
  bad_upgrade: {
    status: 400,
    message: "Not a WebSocket handshake this server accepts.",
  },
  bad_json: { status: 400, message: "The body must be a JSON object." },
  unauthorized: { status: 401, message: "Sign in first." },
  csrf: { status: 403, message: "Cross-site request refused." },
  forbidden_origin: { status: 403, message: "This origin may not connect." },
  guests_disabled: { status: 403, message: "Guest access is turned off." },
  google_disabled: {
    status: 404,
    message: "Google sign-in is not configured.",
  },
  not_found: { status: 404, message: "No such page." },
  not_moderator: {
    status: 403,
    message: "Only the room's owner and moderators may do that.",
  },
  bad_invite: {
    status: 400,
    message:
      `An invite lasts 1–${MAX_INVITE_HOURS} hours and lets in 1–${MAX_INVITE_USES} people.`,
  },
  unknown_person: {
    status: 404,
    message: "Nobody of that name has signed in lately.",
  },
  too_many_invites: {
    status: 409,
    message:
      `This room already has ${MAX_LISTED_INVITES} usable invite links: revoke one first.`,
  },
  ambiguous_person: {
    status: 409,
    message: "Several people have that name: pick one.",
  },
  guests_not_allowed: {
    status: 403,
    message: "This room does not take guests.",
  },
  dm_guest: {
    status: 403,
    message:
      "Direct messages are between people signed in with Google: a guest's identity lasts only as long as its browser session, so the conversation could not be found again.",
  },
  dm_self: { status: 400, message: "You cannot message yourself." },
  too_large: { status: 413, message: "The request body is too large." },
  unsupported_type: {
    status: 415,
    message: "Send application/json or a urlencoded form.",
  },
  upgrade_required: { status: 426, message: "This is a WebSocket endpoint." },
  too_many_connections: {
    status: 429,
    message: "Too many connections; close a tab or try again in a minute.",
  },
  internal: { status: 500, message: "Something went wrong." },
} as const satisfies Record<
  string,
  { status: ContentfulStatusCode; message: string }
>;

/** A code of {@link ROUTE_ERRORS}. */
export type RouteErrorCode = keyof typeof ROUTE_ERRORS;

/** A second way on from an error page, besides the lobby (e.g. the room name that would work). */
export interface ErrorHint {
  href: string;
  label: string;
}

/** What the error page is rendered with. */
export interface ErrorPageData {
  code: RouteErrorCode;
  status: ContentfulStatusCode;
  message: string;
  hint: ErrorHint | null;
}

/** Renders the error page (the router provides it when `routes/_error.tsx` exists). */
export type ErrorPageRenderer = (c: Context, data: ErrorPageData) => Response;

/** The context variable holding the {@link ErrorPageRenderer}. */
export const ERROR_PAGE_VAR = "errorPage";

/** Paths that answer JSON whatever the `Accept`: the API, sockets and probes. */
const MACHINE_PATHS = /^\/(api|ws)(\/|$)|^\/(healthz|readyz|metrics)$/;

/**
 * Whether a request wants an HTML page rather than JSON: a GET or HEAD
 * outside the API whose `Accept` names `text/html` (as a browser's
 * navigation does; `fetch` sends `*\/*` and gets JSON).
 *
 * @example
 * ```ts
 * wantsHtml("GET", "/nope", "text/html,application/xhtml+xml,*\/*;q=0.8"); // true
 * wantsHtml("GET", "/api/rooms", "text/html");                            // false
 * wantsHtml("GET", "/nope", "application/json");                          // false
 * ```
 */
export function wantsHtml(
  method: string,
  path: string,
  accept: string | undefined,
): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  if (MACHINE_PATHS.test(path)) return false;
  return (accept ?? "").toLowerCase().includes("text/html");
}

/**
 * Answers with a route error: JSON `{error, message}` for API clients, the
 * app's error page (same status, same wording, a way back) for a browser.
 *
 * @example
 * ```ts
 * if (!room) return routeError(c, "bad_room"); // 400 {"error":"bad_room","message":"Room names are …"}
 * ```
 */
export function routeError(
  c: Context,
  code: RouteErrorCode,
  hint: ErrorHint | null = null,
): Response {
  const { status, message } = ROUTE_ERRORS[code];
  const page = c.get(ERROR_PAGE_VAR) as ErrorPageRenderer | undefined;
  if (page && wantsHtml(c.req.method, c.req.path, c.req.header("accept"))) {
    try {
      return page(c, { code, status, message, hint });
    } catch {
      // A page that cannot render (the error came from rendering) still answers, as JSON.
    }
  }
  return c.json({ error: code, message }, status);
}

/**
 * {@link routeError}'s JSON answer, for a caller without a Hono context: the
 * listener's WebSocket lane, whose paths always answer JSON.
 *
 * @example
 * ```ts
 * routeErrorJson("unauthorized"); // 401 {"error":"unauthorized","message":"Sign in first."}
 * ```
 */
export function routeErrorJson(code: RouteErrorCode): Response {
  const { status, message } = ROUTE_ERRORS[code];
  return Response.json({ error: code, message }, { status });
}

/** HTTP statuses for refusals of the chat protocol (see `Refusal`). */
function refusalStatus(refusal: Refusal): ContentfulStatusCode {
  switch (refusal.code) {
    case "rate_limited":
      return 429;
    case "sign_in_required":
    case "forbidden":
    case "edit_window_passed":
    case "banned":
    case "muted":
    case "members_only":
      return 403;
    case "slow_mode":
      return 429;
    case "not_found":
      return 404;
    case "message_deleted":
      return 410;
    case "too_many_reactions":
      return 409;
    case "internal":
      return 500;
    default:
      return 400;
  }
}

/**
 * Answers with a refusal from the chat protocol (validation, posting rules,
 * budgets) in the same words a socket gets, with `Retry-After` when it has a
 * wait.
 */
export function refusalResponse(c: Context, refusal: Refusal): Response {
  const body: Record<string, unknown> = {
    error: refusal.code,
    message: refusal.message,
  };
  if (refusal.retryAfter !== undefined) {
    c.header("Retry-After", String(Math.ceil(refusal.retryAfter / 1000)));
    body.retryAfter = refusal.retryAfter;
  }
  if (refusal.until !== undefined) body.until = refusal.until;
  return c.json(body, refusalStatus(refusal));
}

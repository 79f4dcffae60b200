/**
 * The wire protocol between the ChatRoom island and the server: frame types
 * shared by both sides and the one place where untrusted frames are validated.
 *
 * Pure: no I/O, safe to import from islands.
 *
 * @module
 */

import { isOneEmoji } from "./events.ts";
import { normalizeDisplayName } from "./names.ts";
import type {
  ChatMessage,
  ChatUser,
  PostPolicy,
  PresenceState,
  Reactor,
  RoomEvent,
  RoomInfo,
  RoomRole,
  RoomSettings,
  RoomVisibility,
  Sanction,
} from "./types.ts";

/** Longest message text, in UTF-16 code units after trimming. */
export const MAX_MESSAGE_CHARS = 4_000;
/** Frames larger than this (UTF-8 bytes) are refused before JSON parsing. */
export const MAX_FRAME_BYTES = 16 * 1024;
/** How long a typing indicator shows without a fresh `typing` frame. */
export const TYPING_TTL_MS = 5_000;
/** Clients send `typing` at most this often while the user types. */
export const TYPING_THROTTLE_MS = 2_000;
/** Largest page a client may ask for in one `history` or `resume` frame. */
export const MAX_PAGE_SIZE = 100;
/** Page size used when the client does not name one. */
export const DEFAULT_PAGE_SIZE = 50;
/** Longest `clientId` accepted (a UUID is 36). */
export const MAX_CLIENT_ID_CHARS = 64;

/** Longest room title: a heading, not a paragraph. */
export const MAX_TITLE_CHARS = 80;
/** Longest room topic: one line under the title. */
export const MAX_TOPIC_CHARS = 300;
/** Longest slow mode: six hours, as Discord's; past that a room is closed, not slow. */
export const MAX_SLOW_MODE_SECONDS = 21_600;
/** Longest mute: 28 days, as Discord's timeouts; longer is a ban. */
export const MAX_MUTE_MINUTES = 40_320;
/** Longest reason a moderator or a reporter gives: a sentence for the audit log. */
export const MAX_REASON_CHARS = 300;

/** What a moderator does to a person. */
export type ModerationAction = "mute" | "unmute" | "kick" | "ban" | "unban";

/** A moderation request as validated (from a socket frame or an HTTP body). */
export interface ModerationRequest {
  action: ModerationAction;
  user: Reactor;
  /** For `mute` and `ban`: how long (absent: a mute of 10 minutes, a ban for good). */
  minutes?: number;
  reason?: string;
}

/** A report as validated. */
export interface ReportRequest {
  target: number;
  reason?: string;
}

/** Frames a client may send. */
export type ClientFrame =
  | { type: "message"; text: string; clientId: string; replyTo?: number }
  /** Replaces the text of the sender's own message `target`. */
  | { type: "edit"; target: number; text: string; clientId: string }
  /** Deletes the sender's own message `target` (its text is erased). */
  | { type: "delete"; target: number; clientId: string }
  /** Puts (`on`) or takes back the sender's `emoji` on message `target`. */
  | {
    type: "react";
    target: number;
    emoji: string;
    on: boolean;
    clientId: string;
  }
  | { type: "typing" }
  /** A heartbeat: the server answers `pong`, so a client notices a dead path. */
  | { type: "ping" }
  | { type: "resume"; after: number }
  | { type: "history"; before: number; limit: number }
  /** A moderator mutes, kicks or bans someone (or lifts a mute or ban). */
  | ({ type: "moderate"; clientId: string } & ModerationRequest)
  /** Anyone reports a message to the room's moderators. */
  | ({ type: "report"; clientId: string } & ReportRequest);

/** Error codes carried by `error` frames. */
export type ErrorCode =
  | "bad_json"
  | "bad_frame"
  | "unknown_type"
  | "empty_text"
  | "text_too_long"
  | "frame_too_large"
  | "binary_unsupported"
  | "rate_limited"
  | "sign_in_required"
  | "not_found"
  | "forbidden"
  | "edit_window_passed"
  | "message_deleted"
  | "too_many_reactions"
  | "banned"
  | "muted"
  | "slow_mode"
  | "members_only"
  | "internal";

/** A person's standing as their client sees it: their role, and their mute if any. */
export interface StandingView {
  role: RoomRole | null;
  mute: { until: number | null; reason?: string } | null;
}

/**
 * Whether `role` may moderate (delete anyone's message, mute, kick, ban,
 * see reports and the audit log, change settings). The server decides with
 * it; the room's UI only chooses what to offer.
 *
 * @example
 * ```ts
 * moderates("moderator"); // true
 * moderates("member");    // false
 * ```
 */
export function moderates(role: RoomRole | null): boolean {
  return role === "owner" || role === "moderator";
}

/** Frames the server sends. */
export type ServerFrame =
  | {
    type: "welcome";
    you: ChatUser;
    room: string;
    history: ChatMessage[];
    hasMore: boolean;
    lastSeq: number;
    /**
     * The `after` the socket was opened with (`?after=`, see
     * {@link parseSeqParam}), when it is not past `lastSeq`: `history` is
     * then empty (and `hasMore` false), and the server answers as it answers
     * `resume {after: resumeFrom}` — a `history {direction: "newer"}` frame
     * follows, so the client sends no `resume` of its own until it comes.
     * Absent: `history` is the room's latest page, as without `?after=`.
     */
    resumeFrom?: number;
    /** The sender's message budget, so a client can pace itself (an outbox flush) under it. */
    rate: { burst: number; perSecond: number };
  }
  | { type: "message"; message: ChatMessage }
  /** An edit, delete or reaction, as stored (fold it with `Timeline.apply`). */
  | { type: "event"; event: RoomEvent }
  | {
    type: "history";
    /** `newer` answers `resume` (messages after a seq); `older` answers `history`. */
    direction: "newer" | "older";
    messages: ChatMessage[];
    /** For `newer`: the edits, deletes and reactions after the seq, with the messages (folded up to their `rev`). */
    events?: RoomEvent[];
    hasMore: boolean;
  }
  | {
    type: "error";
    code: ErrorCode;
    message: string;
    retryAfter?: number;
    /** For `muted`: when the mute ends (ms since the epoch; null = until lifted). */
    until?: number | null;
    /** Which frame was refused, when the error answers one the client may retry (`message`, `resume`, `history`). */
    refused?: ClientFrame["type"];
    /** The refused frame's `clientId`, when it had one (`message`, `edit`, `delete`, `react`). */
    clientId?: string;
  }
  /** The answer to `ping`. */
  | { type: "pong" }
  /** Broadcasts may have been lost (e.g. the bus reconnected): ask the store with `resume`. */
  | { type: "resync" }
  /**
   * Who is here: the full `state` right after `welcome` (with `joins`/`leaves`
   * to apply on top of it, when present), then `joins`/`leaves` diffs.
   */
  | {
    type: "presence";
    state?: PresenceState;
    joins?: PresenceState;
    leaves?: PresenceState;
  }
  /** Someone is typing; show it for `ttl` ms unless refreshed. `userId` comes first (see the consumer). */
  | { type: "typing"; userId: string; name: string; ttl: number }
  /** The room's owner and settings: after `welcome`, and to the whole room when they change. */
  | { type: "room"; info: RoomInfo }
  /** This person's role and mute: after `welcome`, and when a moderator changes them. */
  | ({ type: "standing" } & StandingView)
  /** Open reports (moderators only): after `welcome`, and when one is made or dismissed. */
  | { type: "reports"; count: number };

/**
 * Frames between instances on a room's group, never sent to a client: each
 * connection acts on those naming its person (or address) and drops the
 * rest. They start with `{"type":"control"` (`FramePrefix.control` in `lib/shared.ts`).
 */
export type ControlFrame =
  /** Close that person's sockets in the room (kicked 4003, banned 4004). */
  | {
    type: "control";
    op: "close";
    userId: string;
    code: number;
    reason: string;
    /** A guest ban: bind it to the address the guest is connected from. */
    ban?: Sanction;
  }
  /** That person's standing changed: their sockets tell their client. */
  | { type: "control"; op: "standing"; userId: string; standing: StandingView };

/** The outcome of parsing a client frame: the frame, or the error to send back. */
export type ParseResult = { ok: true; frame: ClientFrame } | Refusal;

/** Why a frame, a message or a request was not accepted: what an `error` frame carries. */
export interface Refusal {
  ok: false;
  code: ErrorCode;
  message: string;
  /** For `rate_limited` and `slow_mode`: milliseconds until trying again can succeed. */
  retryAfter?: number;
  /** For `muted`: when the mute ends (ms since the epoch; null = until lifted). */
  until?: number | null;
}

const encoder = new TextEncoder();

/** Whether `text` is longer than `limit` bytes in UTF-8, encoding only when it must. */
export function exceedsUtf8Bytes(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  // A UTF-16 unit encodes to at most 3 bytes, so short strings need no encode.
  if (text.length * 3 <= limit) return false;
  return encoder.encode(text).length > limit;
}

function fail(code: ErrorCode, message: string): Refusal {
  return { ok: false, code, message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 0;
}

/** A seq in a query string: decimal digits only (no sign, point, exponent or spaces). */
const SEQ_PARAM = /^\d{1,16}$/;

/**
 * Reads a `seq` from a query parameter (untrusted: the socket's `?after=`):
 * `undefined` when absent, `null` when present but not a safe non-negative
 * integer written in decimal digits, else the number.
 *
 * @example
 * ```ts
 * parseSeqParam(undefined); // undefined (absent)
 * parseSeqParam("42");      // 42
 * parseSeqParam("-1");      // null (as are "1.5", "abc", "", "1e3" and 2^53)
 * ```
 */
export function parseSeqParam(
  value: string | null | undefined,
): number | null | undefined {
  if (value === undefined || value === null) return undefined;
  if (!SEQ_PARAM.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Validates one text frame from a client.
 *
 * @example
 * ```ts
 * const r = parseClientFrame('{"type":"message","text":"hi","clientId":"a1"}');
 * if (r.ok) console.log(r.frame.type); // "message"
 * ```
 */
export function parseClientFrame(raw: string): ParseResult {
  if (exceedsUtf8Bytes(raw, MAX_FRAME_BYTES)) {
    return fail(
      "frame_too_large",
      `Frames are limited to ${MAX_FRAME_BYTES} bytes.`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return fail("bad_json", "The frame is not valid JSON.");
  }
  if (!isRecord(data)) {
    return fail("bad_frame", "A frame must be a JSON object.");
  }
  switch (data.type) {
    case "message":
      return parseMessage(data);
    case "edit":
    case "delete":
    case "react":
      return parseEvent(data);
    case "typing":
      return { ok: true, frame: { type: "typing" } };
    case "ping":
      return { ok: true, frame: { type: "ping" } };
    case "resume":
      if (!isSeq(data.after)) {
        return fail("bad_frame", "`after` must be a non-negative integer.");
      }
      // `+ 0` turns -0 (valid JSON, a safe integer) into 0: as a KV key it sorts below 0.
      return { ok: true, frame: { type: "resume", after: data.after + 0 } };
    case "history": {
      if (!isSeq(data.before)) {
        return fail("bad_frame", "`before` must be a non-negative integer.");
      }
      const limit = data.limit === undefined ? DEFAULT_PAGE_SIZE : data.limit;
      if (!isSeq(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        return fail(
          "bad_frame",
          `\`limit\` must be an integer from 1 to ${MAX_PAGE_SIZE}.`,
        );
      }
      return {
        ok: true,
        frame: { type: "history", before: data.before + 0, limit },
      };
    }
    case "moderate":
    case "report": {
      const clientId = validateClientId(data.clientId);
      if (!clientId.ok) return clientId;
      if (data.type === "moderate") {
        const valid = validateModeration(data);
        return valid.ok
          ? {
            ok: true,
            frame: {
              type: "moderate",
              clientId: clientId.value,
              ...valid.value,
            },
          }
          : valid;
      }
      const valid = validateReport(data);
      return valid.ok
        ? {
          ok: true,
          frame: { type: "report", clientId: clientId.value, ...valid.value },
        }
        : valid;
    }
    default:
      return typeof data.type === "string"
        ? fail("unknown_type", "Unknown frame type.")
        : fail("bad_frame", "A frame needs a string `type`.");
  }
}

function parseMessage(data: Record<string, unknown>): ParseResult {
  const valid = validateMessage(data.text, data.clientId);
  if (!valid.ok) return valid;
  if (data.replyTo === undefined) {
    return { ok: true, frame: { type: "message", ...valid.value } };
  }
  if (!isSeq(data.replyTo) || data.replyTo === 0) {
    return fail("bad_frame", "`replyTo` must be a positive integer.");
  }
  return {
    ok: true,
    frame: { type: "message", ...valid.value, replyTo: data.replyTo },
  };
}

function parseEvent(data: Record<string, unknown>): ParseResult {
  const op = validateEventOp(data.type, data);
  if (!op.ok) return op;
  const clientId = validateClientId(data.clientId);
  if (!clientId.ok) return clientId;
  return { ok: true, frame: { ...op.value, clientId: clientId.value } };
}

/** An edit, delete or reaction as a client asks for it (before the store gives it a `seq`). */
export type EventRequest =
  | { type: "edit"; target: number; text: string }
  | { type: "delete"; target: number }
  | { type: "react"; target: number; emoji: string; on: boolean };

/**
 * Checks an edit, delete or reaction from any entry point (a socket frame, an
 * HTTP request): `target` is a positive `seq`, an edit's text passes the
 * same rules as a message's, an emoji is one emoji ({@link isOneEmoji}),
 * `on` is a boolean.
 *
 * @example
 * ```ts
 * validateEventOp("react", { target: 3, emoji: "👍", on: true }).ok; // true
 * validateEventOp("edit", { target: 3, text: " " }).ok;              // false (empty_text)
 * ```
 */
export function validateEventOp(
  type: unknown,
  data: Record<string, unknown>,
): { ok: true; value: EventRequest } | Refusal {
  if (!isSeq(data.target) || data.target === 0) {
    return fail("bad_frame", "`target` must be a positive integer.");
  }
  const target = data.target;
  switch (type) {
    case "edit": {
      const text = validateText(data.text);
      return text.ok
        ? { ok: true, value: { type, target, text: text.value } }
        : text;
    }
    case "delete":
      return { ok: true, value: { type, target } };
    case "react":
      if (!isOneEmoji(data.emoji)) {
        return fail("bad_frame", "`emoji` must be exactly one emoji.");
      }
      if (typeof data.on !== "boolean") {
        return fail("bad_frame", "`on` must be true or false.");
      }
      return {
        ok: true,
        value: { type, target, emoji: data.emoji, on: data.on },
      };
    default:
      return fail("unknown_type", "Unknown event type.");
  }
}

const MODERATION_ACTIONS: readonly ModerationAction[] = [
  "mute",
  "unmute",
  "kick",
  "ban",
  "unban",
];

/** An optional reason: trimmed, controls stripped, within {@link MAX_REASON_CHARS}. */
function validateReason(
  value: unknown,
): { ok: true; value?: string } | Refusal {
  if (value === undefined || value === null || value === "") {
    return { ok: true };
  }
  if (typeof value !== "string") {
    return fail("bad_frame", "`reason` must be a string.");
  }
  const reason = normalizeMessageText(value).replace(/\s+/g, " ");
  if (reason.length > MAX_REASON_CHARS) {
    return fail(
      "text_too_long",
      `A reason is limited to ${MAX_REASON_CHARS} characters.`,
    );
  }
  return reason ? { ok: true, value: reason } : { ok: true };
}

/**
 * Checks a moderation request from any entry point: a known `action`, a
 * `user` `{id, name}` (the name normalized like a display name), whole
 * `minutes` from 1 to {@link MAX_MUTE_MINUTES} for a mute (a ban may be for
 * good), and an optional reason.
 *
 * @example
 * ```ts
 * validateModeration({ action: "mute", user: { id: "guest:1", name: "Gus" }, minutes: 10 }).ok; // true
 * ```
 */
export function validateModeration(
  data: Record<string, unknown>,
): { ok: true; value: ModerationRequest } | Refusal {
  const action = data.action as ModerationAction;
  if (!MODERATION_ACTIONS.includes(action)) {
    return fail(
      "bad_frame",
      "`action` must be mute, unmute, kick, ban or unban.",
    );
  }
  const user = data.user;
  const name = isRecord(user) ? normalizeDisplayName(user.name) : null;
  if (
    !isRecord(user) || typeof user.id !== "string" || user.id.length === 0 ||
    user.id.length > MAX_CLIENT_ID_CHARS * 2 || name === null
  ) {
    return fail("bad_frame", "`user` must be {id, name}.");
  }
  const reason = validateReason(data.reason);
  if (!reason.ok) return reason;
  const value: ModerationRequest = { action, user: { id: user.id, name } };
  if (reason.value) value.reason = reason.value;
  if (
    data.minutes !== undefined && data.minutes !== null && data.minutes !== ""
  ) {
    const minutes = Number(data.minutes);
    if (
      !Number.isSafeInteger(minutes) || minutes < 1 ||
      minutes > MAX_MUTE_MINUTES || (action !== "mute" && action !== "ban")
    ) {
      return fail(
        "bad_frame",
        `\`minutes\` must be a whole number from 1 to ${MAX_MUTE_MINUTES}, for a mute or a ban.`,
      );
    }
    value.minutes = minutes;
  }
  return { ok: true, value };
}

/** Checks a report: a positive `target` and an optional reason. */
export function validateReport(
  data: Record<string, unknown>,
): { ok: true; value: ReportRequest } | Refusal {
  const target = typeof data.target === "string"
    ? Number(data.target)
    : data.target;
  if (!isSeq(target) || target === 0) {
    return fail("bad_frame", "`target` must be a positive integer.");
  }
  const reason = validateReason(data.reason);
  if (!reason.ok) return reason;
  return {
    ok: true,
    value: reason.value ? { target, reason: reason.value } : { target },
  };
}

const VISIBILITIES: readonly RoomVisibility[] = [
  "public",
  "unlisted",
  "private",
];
const POST_POLICIES: readonly PostPolicy[] = [
  "everyone",
  "signed_in",
  "members",
];

/**
 * Checks new room settings over `current`: every field is optional (absent
 * keeps the current value); title and topic are one line within
 * {@link MAX_TITLE_CHARS} and {@link MAX_TOPIC_CHARS}; slow mode is whole
 * seconds up to {@link MAX_SLOW_MODE_SECONDS}. Form values (strings,
 * "on"/"true" checkboxes) are taken too.
 *
 * @example
 * ```ts
 * validateRoomSettings({ slowModeSeconds: "10" }, current); // { ok: true, value: {...current, slowModeSeconds: 10} }
 * ```
 */
export function validateRoomSettings(
  data: Record<string, unknown>,
  current: RoomSettings,
): { ok: true; value: RoomSettings } | Refusal {
  const next = { ...current };
  for (
    const [field, limit] of [
      ["title", MAX_TITLE_CHARS],
      ["topic", MAX_TOPIC_CHARS],
    ] as const
  ) {
    const value = data[field];
    if (value === undefined) continue;
    if (typeof value !== "string") {
      return fail("bad_frame", `\`${field}\` must be a string.`);
    }
    const line = normalizeMessageText(value).replace(/\s+/g, " ");
    if (line.length > limit) {
      return fail(
        "text_too_long",
        `The ${field} is limited to ${limit} characters.`,
      );
    }
    next[field] = line;
  }
  for (
    const [field, allowed] of [
      ["visibility", VISIBILITIES],
      ["postPolicy", POST_POLICIES],
    ] as const
  ) {
    const value = data[field];
    if (value === undefined) continue;
    if (!(allowed as readonly unknown[]).includes(value)) {
      const choices = `${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}`;
      return fail("bad_frame", `\`${field}\` must be ${choices}.`);
    }
    // One of `allowed`: the field's own type.
    Object.assign(next, { [field]: value });
  }
  if (data.slowModeSeconds !== undefined) {
    const n = data.slowModeSeconds === "" ? 0 : Number(data.slowModeSeconds);
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SLOW_MODE_SECONDS) {
      return fail(
        "bad_frame",
        `\`slowModeSeconds\` must be a whole number from 0 to ${MAX_SLOW_MODE_SECONDS}.`,
      );
    }
    next.slowModeSeconds = n;
  }
  if (data.guestsAllowed !== undefined) {
    const v = data.guestsAllowed;
    if (typeof v === "boolean") next.guestsAllowed = v;
    else if (v === "true" || v === "on") next.guestsAllowed = true;
    else if (v === "false" || v === "off") next.guestsAllowed = false;
    else return fail("bad_frame", "`guestsAllowed` must be true or false.");
  }
  return { ok: true, value: next };
}

/** A message's text and idempotency key, checked and normalized. */
export interface ValidMessage {
  text: string;
  clientId: string;
}

/** The outcome of {@link validateMessage}. */
export type ValidateResult = { ok: true; value: ValidMessage } | Refusal;

/**
 * Checks a message from any entry point (a socket frame, an HTTP post):
 * `clientId` is 1–64 of `[A-Za-z0-9_-]`, the text is normalized
 * ({@link normalizeMessageText}) and must be 1–{@link MAX_MESSAGE_CHARS}
 * characters.
 *
 * @example
 * ```ts
 * validateMessage("  hi ", "c1"); // { ok: true, value: { text: "hi", clientId: "c1" } }
 * validateMessage("", "c1").ok;   // false (empty_text)
 * ```
 */
export function validateMessage(
  text: unknown,
  clientId: unknown,
): ValidateResult {
  if (typeof text !== "string") {
    return fail("bad_frame", "`text` must be a string.");
  }
  const id = validateClientId(clientId);
  if (!id.ok) return id;
  const normalized = validateText(text);
  if (!normalized.ok) return normalized;
  return { ok: true, value: { text: normalized.value, clientId: id.value } };
}

function validateClientId(
  clientId: unknown,
): { ok: true; value: string } | Refusal {
  if (
    typeof clientId !== "string" || clientId.length === 0 ||
    clientId.length > MAX_CLIENT_ID_CHARS ||
    !/^[\w-]+$/.test(clientId)
  ) {
    return fail(
      "bad_frame",
      "`clientId` must be 1–64 letters, digits, '-' or '_'.",
    );
  }
  return { ok: true, value: clientId };
}

/** A message's (or an edit's) text, normalized and within bounds. */
function validateText(text: unknown): { ok: true; value: string } | Refusal {
  if (typeof text !== "string") {
    return fail("bad_frame", "`text` must be a string.");
  }
  const normalized = normalizeMessageText(text);
  if (normalized.length === 0) {
    return fail("empty_text", "A message cannot be empty.");
  }
  if (normalized.length > MAX_MESSAGE_CHARS) {
    return fail(
      "text_too_long",
      `Messages are limited to ${MAX_MESSAGE_CHARS} characters.`,
    );
  }
  return { ok: true, value: normalized };
}

/** C0/C1 controls except tab and newline, and bidi overrides. */
// deno-lint-ignore no-control-regex
const MESSAGE_STRIP = new RegExp(
  "[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e]",
  "g",
);
/**
 * Trims a message and removes characters that only ever do harm in chat text:
 * C0/C1 controls other than newline and tab. Bidi isolates stay (they are
 * legitimate in mixed-direction text); overrides are removed.
 */
export function normalizeMessageText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(MESSAGE_STRIP, "")
    .trim();
}

/**
 * The refusal for a spent budget, worded once for every entry point.
 *
 * @example
 * ```ts
 * rateLimited(1500); // { ok: false, code: "rate_limited", message: "You are sending too fast.", retryAfter: 1500 }
 * ```
 */
export function rateLimited(retryAfter: number): Refusal {
  return {
    ok: false,
    code: "rate_limited",
    message: "You are sending too fast.",
    retryAfter,
  };
}

/**
 * Marks the end of an exhaustive `switch` over a union's `type`: it compiles
 * only when every member is handled (`value` is then `never`), and throws if
 * an unexpected value arrives at run time anyway.
 *
 * @example
 * ```ts
 * switch (frame.type) {
 *   case "message": return;
 *   // …every other type…
 *   default: unreachable(frame);
 * }
 * ```
 */
export function unreachable(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}

/** Serializes a server (or control) frame. Done once per group send, never per socket. */
export function encodeServerFrame(frame: ServerFrame | ControlFrame): string {
  return JSON.stringify(frame);
}

/** Client frames that carry a `clientId` (and are retried by it). */
type KeyedFrame =
  | "message"
  | "edit"
  | "delete"
  | "react"
  | "moderate"
  | "report";

/** What a refusal answers: the frame's type, and its `clientId` when it has one. */
export type RefusedFrame =
  | { type: KeyedFrame; clientId: string }
  | { type: Exclude<ClientFrame["type"], KeyedFrame> };

/** Builds an `error` frame; `refused` names the frame it answers, when the client may retry it. */
export function errorFrame(
  code: ErrorCode,
  message: string,
  retryAfter?: number,
  refused?: RefusedFrame,
): ServerFrame {
  const frame: ServerFrame = { type: "error", code, message };
  if (retryAfter !== undefined) frame.retryAfter = retryAfter;
  if (refused) {
    frame.refused = refused.type;
    if ("clientId" in refused) frame.clientId = refused.clientId;
  }
  return frame;
}

function isUser(value: unknown): value is ChatUser {
  return isRecord(value) && typeof value.id === "string" &&
    typeof value.name === "string";
}

function isMessage(value: unknown): value is ChatMessage {
  return isRecord(value) && isSeq(value.seq) && typeof value.id === "string" &&
    typeof value.text === "string" && typeof value.ts === "number" &&
    typeof value.clientId === "string" && isUser(value.user);
}

function isMessages(value: unknown): value is ChatMessage[] {
  return Array.isArray(value) && value.every(isMessage);
}

function isEvent(value: unknown): value is RoomEvent {
  if (
    !isRecord(value) || !isSeq(value.seq) || !isSeq(value.target) ||
    typeof value.ts !== "number" || !isUser(value.user)
  ) return false;
  switch (value.kind) {
    case "edit":
      return value.text === undefined || typeof value.text === "string";
    case "delete":
      return value.by === "author" || value.by === "moderator";
    case "react":
      return typeof value.emoji === "string" && typeof value.on === "boolean";
    default:
      return false;
  }
}

/** An optional presence map: user id → `{user, metas: [{conn, since}]}`. */
function isPresenceOrAbsent(
  value: unknown,
): value is PresenceState | undefined {
  return value === undefined || (isRecord(value) &&
    Object.values(value).every((entry) =>
      isRecord(entry) && isUser(entry.user) && Array.isArray(entry.metas) &&
      entry.metas.every((m) =>
        isRecord(m) && typeof m.conn === "string" && typeof m.since === "number"
      )
    ));
}

/**
 * Checks one frame from the server, in the browser: JSON, a known `type`, and
 * the fields the client reads. Anything else is `null`, so a bad frame is
 * dropped instead of corrupting what the client knows.
 *
 * @example
 * ```ts
 * parseServerFrame('{"type":"resync"}'); // { type: "resync" }
 * parseServerFrame('{"type":"nope"}');   // null
 * ```
 */
export function parseServerFrame(raw: unknown): ServerFrame | null {
  if (typeof raw !== "string") return null;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isRecord(data)) return null;
  const frame = data as ServerFrame;
  switch (frame.type) {
    case "welcome":
      return isMessages(data.history) && isSeq(data.lastSeq) &&
          (data.resumeFrom === undefined || isSeq(data.resumeFrom))
        ? frame
        : null;
    case "message":
      return isMessage(data.message) ? frame : null;
    case "event":
      return isEvent(data.event) ? frame : null;
    case "history":
      return (data.direction === "newer" || data.direction === "older") &&
          isMessages(data.messages) && typeof data.hasMore === "boolean" &&
          (data.events === undefined ||
            (Array.isArray(data.events) && data.events.every(isEvent)))
        ? frame
        : null;
    case "error":
      return typeof data.code === "string" && typeof data.message === "string"
        ? frame
        : null;
    case "resync":
    case "pong":
      return frame;
    case "presence":
      return isPresenceOrAbsent(data.state) &&
          isPresenceOrAbsent(data.joins) && isPresenceOrAbsent(data.leaves)
        ? frame
        : null;
    case "typing":
      return typeof data.userId === "string" &&
          typeof data.name === "string" && typeof data.ttl === "number"
        ? frame
        : null;
    case "room":
      return isRecord(data.info) && isRecord(data.info.settings) &&
          typeof data.info.room === "string"
        ? frame
        : null;
    case "standing":
      return (data.role === null || typeof data.role === "string") &&
          (data.mute === null ||
            (isRecord(data.mute) &&
              (data.mute.until === null ||
                typeof data.mute.until === "number")))
        ? frame
        : null;
    case "reports":
      return isSeq(data.count) ? frame : null;
    default: {
      // A type added to ServerFrame must be checked here before clients see it.
      const _exhaustive: never = frame;
      return null;
    }
  }
}

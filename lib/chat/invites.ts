/**
 * Invite links: their limits, the validation of a request for one, their
 * tokens and what a refused one says. The store (`InviteStore`) counts uses
 * atomically; routes ask `mayInvite` who may make them.
 *
 * Why a random token stored in KV rather than a signed one (a JWT): a link
 * that can be revoked and used up must be looked up on every use anyway, so
 * a signature would add a key to manage and verify while proving nothing the
 * stored record does not. 128 random bits cannot be guessed, and revoking is
 * one write that every instance sees at once.
 *
 * @module
 */

import type { InviteRefusal } from "../store/access_types.ts";

/** Longest an invite lasts: 30 days, so a forgotten link stops working. */
export const MAX_INVITE_HOURS = 30 * 24;
/** An invite's lifetime unless asked otherwise: a week, as Discord's default. */
export const DEFAULT_INVITE_HOURS = 7 * 24;
/** Most people one link lets in: a link for a team, not a public door. */
export const MAX_INVITE_USES = 100;
/** People one link lets in unless asked otherwise. */
export const DEFAULT_INVITE_USES = 10;
/**
 * Usable invites listed per room (a room rarely has more than a few), and the
 * most it may hold: a link past the list would be one its moderators cannot
 * see to revoke (a red-team pass made 300 in 1.4 s).
 */
export const MAX_LISTED_INVITES = 50;
/** Random bytes in a token: 128 bits. */
const TOKEN_BYTES = 16;

/** A valid request for an invite: how long it lasts and how many may use it. */
export interface InviteRequest {
  hours: number;
  uses: number;
}

/** A positive whole number from JSON (a number) or a form (a string), else null. */
function wholeNumber(value: unknown): number | null {
  const n = typeof value === "string" && value !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * Validates `{hours?, uses?}` (absent: the defaults); null when either is
 * out of range.
 *
 * @example
 * ```ts
 * validateInviteRequest({ hours: 24, uses: 1 }); // { hours: 24, uses: 1 }
 * validateInviteRequest({ uses: 0 });            // null
 * ```
 */
export function validateInviteRequest(
  body: Record<string, unknown>,
): InviteRequest | null {
  const hours = body.hours === undefined
    ? DEFAULT_INVITE_HOURS
    : wholeNumber(body.hours);
  const uses = body.uses === undefined
    ? DEFAULT_INVITE_USES
    : wholeNumber(body.uses);
  if (hours === null || hours > MAX_INVITE_HOURS) return null;
  if (uses === null || uses > MAX_INVITE_USES) return null;
  return { hours, uses };
}

/** A new invite token: 128 random bits, base64url (22 characters). */
export function newInviteToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Whether `token` looks like one of ours (checked before any read). */
export function isInviteToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(token);
}

/** What the invite page says of a refused link, and its status. */
export const INVITE_REFUSALS: Record<
  InviteRefusal | "guests" | "banned" | "cross_site",
  { status: 403 | 404 | 410; message: string }
> = {
  not_found: {
    status: 404,
    message: "This invite link does not exist. Check that it was copied whole.",
  },
  expired: {
    status: 410,
    message: "This invite link has expired. Ask for a new one.",
  },
  used_up: {
    status: 410,
    message: "This invite link has been used as many times as it allows.",
  },
  revoked: {
    status: 410,
    message: "This invite link was withdrawn by the room's moderators.",
  },
  guests: {
    status: 403,
    message: "This room does not take guests: sign in with Google to join.",
  },
  banned: { status: 403, message: "You may not join this room." },
  cross_site: {
    status: 403,
    message:
      "Joining must be confirmed on the invitation's own page. Open the link again.",
  },
};

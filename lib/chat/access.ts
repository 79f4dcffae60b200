/**
 * Who may find a room: the one rule every entry point asks (the room page,
 * its WebSocket, the history, posting and event APIs, the lobby, invites).
 * Pure: the caller reads the room's record and the person's role.
 *
 * - A room with no record, or a `public` or `unlisted` one, is open to
 *   anyone who has its name (`public` ones are also listed in the lobby).
 * - A `private` room is open to its members only: the owner, moderators and
 *   members. Everyone else gets what a missing page gets (404), so the name
 *   does not leak.
 * - A direct-message room (`dm-…`, see `isDirectRoom`) is open only to its
 *   two members, and only when the direct-message path made it (no owner):
 *   a `dm-` room made any other way is hidden from everyone.
 *
 * @module
 */

import { DIRECT_ROOM_PREFIX, isDirectRoom } from "./names.ts";
import type {
  ChatUser,
  RoomInfo,
  RoomRole,
  RoomSettings,
  Standing,
} from "./types.ts";

/**
 * Whether `user` (signed out: null), whose role in the room is `role`, may
 * see the room `room` whose record is `info` (null: none).
 *
 * @example
 * ```ts
 * canSeeRoom("team", privateInfo, null, ana);     // false: answer 404
 * canSeeRoom("team", privateInfo, "member", ana); // true
 * canSeeRoom("general", null, null, null);        // true
 * ```
 */
export function canSeeRoom(
  room: string,
  info: RoomInfo | null,
  role: RoomRole | null,
  user: ChatUser | null,
): boolean {
  if (isDirectRoom(room)) {
    return user !== null && info !== null && info.owner === null &&
      role === "member";
  }
  if (!info || info.settings.visibility !== "private") return true;
  return user !== null && role !== null;
}

/**
 * Whether the room is listed in the lobby: public rooms only (a room with no
 * record is public), never a direct-message room.
 *
 * @example
 * ```ts
 * listedInLobby("general", null); // true
 * listedInLobby("team", unlistedInfo); // false
 * ```
 */
export function listedInLobby(room: string, info: RoomInfo | null): boolean {
  return !isDirectRoom(room) &&
    (info?.settings.visibility ?? "public") === "public";
}

/**
 * Whether someone with `role` may invite people into the room (create, list
 * and revoke invite links, add by name): its owner and moderators. A
 * direct-message room has neither, so nobody can add a third person.
 */
export function mayInvite(role: RoomRole | null): boolean {
  return role === "owner" || role === "moderator";
}

/**
 * Whether `user` may be made a member of the room by an invite or by name:
 * guests only where the room allows guests.
 */
export function mayJoin(info: RoomInfo | null, user: ChatUser): boolean {
  return user.kind !== "guest" || (info?.settings.guestsAllowed ?? true);
}

/** Why a person cannot start a direct message, or null when they can. */
export type DirectRefusal = "guest" | "self" | null;

/**
 * Whether `me` may start a direct conversation with `other`: both must be
 * signed in with Google. A guest's identity lasts only as long as its
 * session cookie, so a conversation with one could never be found again,
 * and anyone can take any guest name.
 *
 * @example
 * ```ts
 * directRefusal(guest, ana); // "guest"
 * ```
 */
export function directRefusal(me: ChatUser, other: ChatUser): DirectRefusal {
  if (me.kind === "guest" || other.kind === "guest") return "guest";
  if (me.id === other.id) return "self";
  return null;
}

/** The settings a direct-message room is made with: private, members only, no guests. */
export const DIRECT_ROOM_SETTINGS: RoomSettings = {
  title: "",
  topic: "",
  visibility: "private",
  postPolicy: "members",
  slowModeSeconds: 0,
  guestsAllowed: false,
};

/** Hex characters of the pair's hash in a direct room's name: 128 bits, so pairs never collide. */
const DIRECT_HASH_HEX = 32;

/**
 * The one room of the pair `a`, `b` (in either order): `dm-` and the first
 * 128 bits of SHA-256 over the two sorted user ids, so both find the same
 * room again without a lookup.
 *
 * @example
 * ```ts
 * await directRoomName("google:a", "google:b") === await directRoomName("google:b", "google:a"); // true
 * ```
 */
export async function directRoomName(a: string, b: string): Promise<string> {
  const [x, y] = [a, b].sort();
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`roomcast:dm:${x}\n${y}`),
  );
  const hex = Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
  return `${DIRECT_ROOM_PREFIX}${hex.slice(0, DIRECT_HASH_HEX)}`;
}

/**
 * The role `standing` holds in the room, a ban or not: what another must
 * outrank to act on them (a banned moderator stays a moderator to their peers,
 * who may not undo the owner's ban), and what adding them again must keep.
 *
 * @example
 * ```ts
 * heldRole({ role: null, held: "moderator", mute: null, ban }); // "moderator"
 * ```
 */
export function heldRole(standing: Standing): RoomRole | null {
  return standing.role ?? standing.held ?? null;
}

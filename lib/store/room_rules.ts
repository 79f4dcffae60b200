/**
 * A room's rules held in memory — every role, mute and ban of one room, as
 * listed from the store — and where a person stands by them at a given time.
 * Pure: the store lists the rows and decides whether a view is still the
 * room's (`rooms.ts`, its `room_rules` version key). Sanctions expire by
 * time, so a view holds them as stored and they are judged at each use.
 *
 * @module
 */

import type {
  Membership,
  RoomInfo,
  Sanction,
  Standing,
} from "../chat/types.ts";

/** One room's roles, mutes and bans: a person's by user id, address bans by address. */
export interface RulesView {
  roles: Map<string, Membership["role"]>;
  mutes: Map<string, Sanction>;
  bans: Map<string, Sanction>;
  addressBans: Map<string, Sanction>;
}

/** One person's rows in a room (null: none), as stored: sanctions may be past their time. */
export interface PersonRules {
  role: Membership["role"] | null;
  mute: Sanction | null;
  ban: Sanction | null;
  /** The ban of the address they come from, if one was given. */
  addressBan: Sanction | null;
}

/** A view of a room with no roles, mutes or bans (rows go in with {@link addRow}). */
export function emptyRules(): RulesView {
  return {
    roles: new Map(),
    mutes: new Map(),
    bans: new Map(),
    addressBans: new Map(),
  };
}

/**
 * Puts one listed row of a room into `view`. The keys are `rooms.ts`'s:
 * `["room_member", room, userId]` (a Membership), `["room_mute", room,
 * userId]` and `["room_ban", room, "user" | "addr", id]` (Sanctions); any
 * other key is not a rule and is left out.
 *
 * @example
 * ```ts
 * const view = emptyRules();
 * addRow(view, ["room_member", "r", "google:mia"], { user: mia, role: "moderator", since: 1 });
 * view.roles.get("google:mia"); // "moderator"
 * ```
 */
export function addRow(view: RulesView, key: Deno.KvKey, value: unknown) {
  const [family, , part, id] = key;
  if (family === "room_member" && typeof part === "string") {
    view.roles.set(part, (value as Membership).role);
  } else if (family === "room_mute" && typeof part === "string") {
    view.mutes.set(part, value as Sanction);
  } else if (family === "room_ban" && typeof id === "string") {
    if (part === "user") view.bans.set(id, value as Sanction);
    else if (part === "addr") view.addressBans.set(id, value as Sanction);
  }
}

/** `userId`'s rows in `view` (and the ban of `address`, if given). */
export function personIn(
  view: RulesView,
  userId: string,
  address?: string,
): PersonRules {
  return {
    role: view.roles.get(userId) ?? null,
    mute: view.mutes.get(userId) ?? null,
    ban: view.bans.get(userId) ?? null,
    addressBan: address ? view.addressBans.get(address) ?? null : null,
  };
}

/**
 * `s` if it is in force at `now` (no end, or ending after `now`), else null:
 * a stored sanction, or the mute a socket was told.
 *
 * @example
 * ```ts
 * inForce({ until: 2_000 }, 1_000); // { until: 2000 }
 * inForce({ until: 2_000 }, 2_000); // null
 * ```
 */
export function inForce<S extends { until: number | null }>(
  s: S | null,
  now: number,
): S | null {
  return s && (s.until === null || s.until > now) ? s : null;
}

/**
 * Where `userId` stands at `now`: owner if the room's record says so, else
 * their membership's role — none while their own ban is in force: a ban
 * suspends the role (kept, and back when the ban ends), so a banned moderator
 * moderates nothing and a banned member of a private room cannot read it
 * (both did, until a red-team pass found it; a ban of their address, which
 * may be a banned guest's NAT, leaves the role); the mute, and the ban of the
 * person or else of their address, that are in force at `now`.
 *
 * @example
 * ```ts
 * standingOf(info, "guest:gus", personIn(view, "guest:gus", "10.0.0.9"), Date.now());
 * ```
 */
export function standingOf(
  info: RoomInfo | null,
  userId: string,
  person: PersonRules,
  now: number,
): Standing {
  const own = inForce(person.ban, now);
  const owner = info?.owner?.id === userId;
  const standing: Standing = {
    role: owner ? "owner" : own ? null : person.role,
    mute: inForce(person.mute, now),
    ban: own ?? inForce(person.addressBan, now),
  };
  if (!owner && own && person.role) standing.held = person.role;
  return standing;
}

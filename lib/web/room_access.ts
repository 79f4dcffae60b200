/**
 * The start of every route that manages who is in a room (invites, adding
 * by name): the room from the path, a signed-in caller who may see it
 * (`enterRoom`: else 404, as for no room) and who is its owner or a
 * moderator (`mayInvite`: else 403).
 *
 * @module
 */

import type { Context } from "hono";
import { mayInvite } from "../chat/access.ts";
import { normalizeRoomName } from "../chat/names.ts";
import { enterRoom, type RoomEntry } from "../chat/room_gate.ts";
import type { ChatUser } from "../chat/types.ts";
import type { AppEnv } from "../context.ts";
import { routeError } from "./errors.ts";
import { roomActor } from "./room_admin.ts";

/** A room whose invites the caller manages. */
export interface ManagedRoom extends RoomEntry {
  room: string;
  user: ChatUser;
}

/**
 * The room `:room` if the caller may invite people into it, else the
 * response to answer with (400 bad name, 401 signed out, 404 hidden, 403 not
 * a moderator). `spend: "write"`: a change (a link made or revoked, a person
 * added) takes a token of the caller's action budget, as a moderation does
 * (`roomActor`; 429 past it): 300 invites in 1.4 s, each three KV writes
 * and an audit entry kept for good, had no limit.
 *
 * @example
 * ```ts
 * const managed = await managedRoom(c, "write");
 * if (managed instanceof Response) return managed;
 * ```
 */
export async function managedRoom(
  c: Context<AppEnv>,
  spend?: "write",
): Promise<ManagedRoom | Response> {
  const room = normalizeRoomName(c.req.param("room") ?? "");
  if (!room) return routeError(c, "bad_room");
  const user = c.get("user");
  const services = c.get("services");
  if (!user) return routeError(c, "unauthorized");
  const access = await enterRoom(services.rooms, room, user);
  if (!access) return routeError(c, "not_found");
  if (!mayInvite(access.role)) return routeError(c, "not_moderator");
  if (spend === "write") {
    const actor = roomActor(c, "write");
    if (actor instanceof Response) return actor;
  }
  return { room, user, ...access };
}

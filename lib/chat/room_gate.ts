/**
 * The read behind every room entry point: the room's record and the
 * person's role, then the one rule (`canSeeRoom`). The page, the socket, the
 * history, posting and event APIs and invites all come through here.
 *
 * @module
 */

import type { RoomStore } from "../store/types.ts";
import { canSeeRoom } from "./access.ts";
import type { ChatUser, RoomInfo, RoomRole } from "./types.ts";

/** What a person who may enter a room learns about it. */
export interface RoomEntry {
  /** The room's record (null: none, an ownerless public room). */
  info: RoomInfo | null;
  /** Their role in it. */
  role: RoomRole | null;
}

/**
 * The room's record and `user`'s role when they may see the room; null when
 * they may not (answer as for a page that does not exist: 404). One read.
 *
 * @example
 * ```ts
 * const access = await enterRoom(services.rooms, room, user);
 * if (!access) return routeError(c, "not_found");
 * ```
 */
export async function enterRoom(
  rooms: Pick<RoomStore, "get" | "access">,
  room: string,
  user: ChatUser | null,
): Promise<RoomEntry | null> {
  const { info, standing } = user
    ? await rooms.access(room, user.id)
    : { info: await rooms.get(room), standing: null };
  const role = standing?.role ?? null;
  return canSeeRoom(room, info, role, user) ? { info, role } : null;
}

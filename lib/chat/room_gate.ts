/**
 * The read behind every room entry point: the room's record and the
 * person's role, then the one rule (`canSeeRoom`). The page, the socket, the
 * history, posting and event APIs and invites all come through here.
 *
 * @module
 */

import type { RoomStore } from "../store/types.ts";
import { canSeeRoom } from "./access.ts";
import { isDirectRoom } from "./names.ts";
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

/**
 * The same answer as `enterRoom(...) !== null`, reading as little as it can:
 * the room's record from `readInfo` (the socket route passes a read shared by
 * the room's newcomers, `sharedRoomInfo`), and the person's role only where
 * the record makes it matter — a private room they do not own, or a direct
 * room (then {@link enterRoom}'s read). After a restart every socket of a
 * public room then costs no read of its own here.
 *
 * @example
 * ```ts
 * const ok = await maySeeRoom(rooms, "general", user, (r) => sharedRoomInfo(rooms).get(r));
 * ```
 */
export async function maySeeRoom(
  rooms: Pick<RoomStore, "get" | "access">,
  room: string,
  user: ChatUser,
  readInfo: (room: string) => Promise<RoomInfo | null>,
): Promise<boolean> {
  if (!isDirectRoom(room)) {
    const info = await readInfo(room);
    const role = info?.owner?.id === user.id ? "owner" : null;
    if (canSeeRoom(room, info, role, user)) return true;
  }
  return (await enterRoom(rooms, room, user)) !== null;
}

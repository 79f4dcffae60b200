import { isDirectRoom, normalizeRoomName } from "../../../../lib/chat/names.ts";
import { enterRoom } from "../../../../lib/chat/room_gate.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { readBody } from "../../../../lib/web/body.ts";
import { routeError } from "../../../../lib/web/errors.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/**
 * `POST /api/dms/:room/read {seq}`: you have seen the conversation up to
 * `seq` (kept to the room's `lastSeq`, so a marker never runs ahead of what
 * exists; it never moves back). 404 to anyone but its two members.
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const services = c.get("services");
    const user = c.get("user");
    const body = await readBody(c);
    if (!body.ok) return routeError(c, body.error);
    if (!user) return routeError(c, "unauthorized");
    const room = normalizeRoomName(c.req.param("room") ?? "");
    if (!room || !isDirectRoom(room)) return routeError(c, "not_found");
    if (!await enterRoom(services.rooms, room, user)) {
      return routeError(c, "not_found");
    }
    const seq = Number(body.value.seq);
    if (!Number.isSafeInteger(seq) || seq < 0) {
      return routeError(c, "bad_query");
    }
    const lastSeq = await services.store.lastSeq(room);
    const read = Math.min(seq, lastSeq);
    await services.directs.markRead(user.id, room, read);
    return c.json({ read });
  },
};

import type { AppEnv } from "../../../../../lib/context.ts";
import { routeError } from "../../../../../lib/web/errors.ts";
import { managedRoom } from "../../../../../lib/web/room_access.ts";
import type { Handlers } from "../../../../../lib/web/types.ts";

/** `DELETE /api/rooms/:room/invites/:token`: revokes the link (owner and moderators). */
export const handler: Handlers<AppEnv> = {
  async DELETE(c) {
    const managed = await managedRoom(c);
    if (managed instanceof Response) return managed;
    const revoked = await c.get("services").invites.revoke(
      managed.room,
      c.req.param("token") ?? "",
      { id: managed.user.id, name: managed.user.name },
    );
    if (!revoked) return routeError(c, "not_found");
    await c.get("services").rooms.audit(managed.room, {
      ts: Date.now(),
      actor: { id: managed.user.id, name: managed.user.name },
      action: "revoke_invite",
    });
    return c.json({ revoked: true });
  },
};

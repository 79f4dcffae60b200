import type { AppEnv } from "../../../../../lib/context.ts";
import { routeError } from "../../../../../lib/web/errors.ts";
import { managedRoom } from "../../../../../lib/web/room_access.ts";
import type { Handlers } from "../../../../../lib/web/types.ts";

/** `DELETE /api/rooms/:room/invites/:token`: revokes the link (owner and moderators). */
export const handler: Handlers<AppEnv> = {
  async DELETE(c) {
    const managed = await managedRoom(c, "write");
    if (managed instanceof Response) return managed;
    const revoked = await c.get("services").invites.revoke(
      managed.room,
      c.req.param("token") ?? "",
      { id: managed.user.id, name: managed.user.name },
    );
    if (revoked === "unknown") return routeError(c, "not_found");
    // Revoked before: nothing changed, nothing to add to the audit log.
    if (revoked === "already") return c.json({ revoked: true });
    await c.get("services").rooms.audit(managed.room, {
      ts: Date.now(),
      actor: { id: managed.user.id, name: managed.user.name },
      action: "revoke_invite",
    });
    return c.json({ revoked: true });
  },
};

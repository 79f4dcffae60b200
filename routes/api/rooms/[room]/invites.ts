import {
  MAX_LISTED_INVITES,
  newInviteToken,
  validateInviteRequest,
} from "../../../../lib/chat/invites.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import type { Invite } from "../../../../lib/store/access_types.ts";
import { readBody } from "../../../../lib/web/body.ts";
import { routeError } from "../../../../lib/web/errors.ts";
import { managedRoom } from "../../../../lib/web/room_access.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/** An invite as its managers see it: the record and the link to share. */
function shown(invite: Invite, origin: string) {
  return { ...invite, url: `${origin}/invite/${invite.token}` };
}

/**
 * `GET /api/rooms/:room/invites`: the room's usable invite links.
 * `POST /api/rooms/:room/invites {hours?, uses?}`: a new link (201).
 * Owner and moderators only (403); 404 to whoever may not see the room.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const managed = await managedRoom(c);
    if (managed instanceof Response) return managed;
    const origin = new URL(c.req.url).origin;
    const invites = await c.get("services").invites.list(
      managed.room,
      MAX_LISTED_INVITES,
    );
    c.header("Cache-Control", "no-store");
    return c.json({ invites: invites.map((i) => shown(i, origin)) });
  },

  async POST(c) {
    const body = await readBody(c);
    if (!body.ok) return routeError(c, body.error);
    const managed = await managedRoom(c, "write");
    if (managed instanceof Response) return managed;
    const asked = validateInviteRequest(body.value);
    if (!asked) return routeError(c, "bad_invite");
    const usable = await c.get("services").invites.list(
      managed.room,
      MAX_LISTED_INVITES,
    );
    if (usable.length >= MAX_LISTED_INVITES) {
      return routeError(c, "too_many_invites");
    }
    const now = Date.now();
    const invite: Invite = {
      token: newInviteToken(),
      room: managed.room,
      by: { id: managed.user.id, name: managed.user.name },
      created: now,
      expires: now + asked.hours * 3_600_000,
      maxUses: asked.uses,
      uses: 0,
    };
    await c.get("services").invites.create(invite);
    await c.get("services").rooms.audit(managed.room, {
      ts: now,
      actor: invite.by,
      action: "invite",
      detail: `${asked.uses} people, ${asked.hours} h`,
    });
    // The room and who made it, never the token: it is a credential.
    c.get("services").log.info("invite.created", {
      room: managed.room,
      by: managed.user.id,
    });
    return c.json({ invite: shown(invite, new URL(c.req.url).origin) }, 201);
  },
};

import { heldRole, mayJoin } from "../../../../lib/chat/access.ts";
import { tellStanding } from "../../../../lib/chat/moderation.ts";
import { normalizeDisplayName } from "../../../../lib/chat/names.ts";
import type { ChatUser } from "../../../../lib/chat/types.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { readBody } from "../../../../lib/web/body.ts";
import { ROUTE_ERRORS, routeError } from "../../../../lib/web/errors.ts";
import { managedRoom } from "../../../../lib/web/room_access.ts";
import type { Handlers } from "../../../../lib/web/types.ts";

/** People of the same name offered to pick from. */
const MAX_CANDIDATES = 10;

/**
 * `POST /api/rooms/:room/members {name}` or `{userId}`: adds a person by name
 * (owner and moderators). Only people known to the directory can be found:
 * whoever signed in (guest or Google) within a session's lifetime. One match
 * is added (201, or 200 when they already had a role); several are a 409
 * with `candidates` to pick from by `userId`; none is a 404.
 */
export const handler: Handlers<AppEnv> = {
  async POST(c) {
    const body = await readBody(c);
    if (!body.ok) return routeError(c, body.error);
    const managed = await managedRoom(c, "write");
    if (managed instanceof Response) return managed;
    const { directory, rooms } = c.get("services");
    let person: ChatUser | null = null;
    if (typeof body.value.userId === "string") {
      person = await directory.byId(body.value.userId);
    } else {
      const name = normalizeDisplayName(body.value.name);
      if (!name) return routeError(c, "bad_name");
      const found = await directory.byName(name, MAX_CANDIDATES);
      if (found.length > 1) {
        return c.json({
          error: "ambiguous_person",
          message: ROUTE_ERRORS.ambiguous_person.message,
          candidates: found.map(({ id, name, kind }) => ({ id, name, kind })),
        }, 409);
      }
      person = found[0] ?? null;
    }
    if (!person) return routeError(c, "unknown_person");
    if (!mayJoin(managed.info, person)) {
      return routeError(c, "guests_not_allowed");
    }
    const member = { id: person.id, name: person.name };
    const standing = await rooms.standing(managed.room, person.id);
    // A banned member keeps their role for when the ban ends: not rewritten.
    const held = heldRole(standing);
    if (held) return c.json({ member, role: held, added: false });
    await rooms.setRole(managed.room, member, "member");
    await tellStanding(c.get("services"), managed.room, member.id);
    await rooms.audit(managed.room, {
      ts: Date.now(),
      actor: { id: managed.user.id, name: managed.user.name },
      action: "add",
      subject: member,
    });
    return c.json({ member, role: "member", added: true }, 201);
  },
};

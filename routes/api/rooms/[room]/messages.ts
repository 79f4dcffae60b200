import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  rateLimited,
  validateMessage,
} from "../../../../lib/chat/protocol.ts";
import { normalizeRoomName } from "../../../../lib/chat/names.ts";
import { postMessage } from "../../../../lib/chat/post.ts";
import {
  DEFAULT_ROOM_SETTINGS,
  roomRefusal,
} from "../../../../lib/chat/moderation.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { readBody } from "../../../../lib/web/body.ts";
import { readerKey, takeRead } from "../../../../lib/chat/budgets.ts";
import { refusalResponse, routeError } from "../../../../lib/web/errors.ts";
import type { Handlers } from "../../../../lib/web/types.ts";
import type { Context } from "hono";

function roomOf(c: Context<AppEnv>): string | null {
  return normalizeRoomName(c.req.param("room") ?? "");
}

function seqParam(value: string | undefined): number | null | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** A `replyTo` from JSON (a number) or a form (a string); anything else is no reply. */
function replyToOf(value: unknown): { replyTo?: number } {
  const n = typeof value === "string" && value !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0
    ? { replyTo: n }
    : {};
}

/**
 * `GET /api/rooms/:room/messages?before=&after=&limit=`: a page of history.
 * With `after` it is the log after that `seq`, as `resume` answers it: new
 * messages and the events (edits, deletes, reactions) that changed older
 * ones, so a bot polling by `seq` converges like a socket.
 * `POST /api/rooms/:room/messages {text, clientId?, replyTo?}`: the socket's posting
 * path (`postMessage`); form posts (the no-JS page) redirect back.
 * Hidden rooms are answered by `_middleware.ts` (404).
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const room = roomOf(c);
    if (!room) return routeError(c, "bad_room");
    const before = seqParam(c.req.query("before"));
    const after = seqParam(c.req.query("after"));
    // `??` would let an invalid `limit` (null) fall back to the default: only an absent one may.
    const asked = seqParam(c.req.query("limit"));
    const limit = asked === undefined ? DEFAULT_PAGE_SIZE : asked;
    if (
      before === null || after === null || limit === null || limit < 1 ||
      limit > MAX_PAGE_SIZE
    ) {
      return routeError(c, "bad_query");
    }
    const services = c.get("services");
    const user = c.get("user");
    // The socket's read budget, per person (by user, or by address when
    // signed out) and per address.
    const { address } = c.get("client");
    const wait = takeRead(
      services.budgets,
      readerKey(user?.id, address),
      address,
    );
    if (wait > 0) {
      services.metrics.drop("rate_limited");
      return refusalResponse(c, rateLimited(wait));
    }
    if (user) {
      // A ban keeps its person out of the room's history too.
      const { standing } = await services.rooms.access(
        room,
        user.id,
        c.get("client").address,
      );
      const refused = standing.ban
        ? roomRefusal(user, DEFAULT_ROOM_SETTINGS, standing)
        : null;
      if (refused) return refusalResponse(c, refused);
    }
    const { store } = services;
    const page = after !== undefined
      ? await store.since(room, after, limit)
      : before !== undefined
      ? await store.before(room, before, limit)
      : await store.recent(room, limit);
    return c.json(page);
  },

  async POST(c) {
    const services = c.get("services");
    const user = c.get("user");
    const room = roomOf(c);
    if (!room) return routeError(c, "bad_room");
    const body = await readBody(c);
    if (!body.ok) return routeError(c, body.error);
    if (!user) return routeError(c, "unauthorized");
    const valid = validateMessage(
      body.value.text,
      body.value.clientId ?? crypto.randomUUID(),
    );
    const posted = valid.ok
      ? await postMessage(
        services,
        {
          room,
          user,
          address: c.get("client").address,
          ...valid.value,
          ...replyToOf(body.value.replyTo),
        },
        services.posting,
      )
      : valid;
    if (!posted.ok) {
      if (body.form) {
        return c.redirect(`/chat/${room}?error=${posted.code}`, 303);
      }
      return refusalResponse(c, posted);
    }
    const { message, duplicate } = posted;
    if (body.form) return c.redirect(`/chat/${room}#m${message.seq}`, 303);
    return c.json({ message, duplicate }, duplicate ? 200 : 201);
  },
};

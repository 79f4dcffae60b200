import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  parseClientFrame,
} from "../../../../lib/chat/protocol.ts";
import { normalizeRoomName } from "../../../../lib/chat/names.ts";
import type { AppEnv } from "../../../../lib/context.ts";
import { readBody } from "../../../../lib/web/body.ts";
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

/**
 * `GET /api/rooms/:room/messages?before=&after=&limit=`: a page of history.
 * `POST /api/rooms/:room/messages {text, clientId?}`: stores then broadcasts,
 * like a socket message; form posts (the no-JS page) redirect back.
 */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const room = roomOf(c);
    if (!room) {
      return c.json({ error: "bad_room", message: "Invalid room name." }, 400);
    }
    const before = seqParam(c.req.query("before"));
    const after = seqParam(c.req.query("after"));
    const limit = seqParam(c.req.query("limit")) ?? DEFAULT_PAGE_SIZE;
    if (
      before === null || after === null || limit === null || limit < 1 ||
      limit > MAX_PAGE_SIZE
    ) {
      return c.json({
        error: "bad_query",
        message:
          `before/after are sequence numbers; limit is 1–${MAX_PAGE_SIZE}.`,
      }, 400);
    }
    const { store } = c.var.services;
    const page = after !== undefined
      ? await store.after(room, after, limit)
      : before !== undefined
      ? await store.before(room, before, limit)
      : await store.recent(room, limit);
    return c.json(page);
  },

  async POST(c) {
    const { services, user } = c.var;
    const room = roomOf(c);
    if (!room) {
      return c.json({ error: "bad_room", message: "Invalid room name." }, 400);
    }
    const body = await readBody(c);
    if (!body.ok) {
      return c.json({ error: body.error, message: body.message }, body.status);
    }
    if (!user) {
      return c.json({ error: "unauthorized", message: "Sign in first." }, 401);
    }
    if (user.kind === "guest" && !services.config.allowGuests) {
      return c.json({
        error: "sign_in_required",
        message: "Sign in to chat in this room.",
      }, 403);
    }
    const wait = services.postRate.take(user.id);
    if (wait > 0) {
      services.metrics.drop("rate_limited");
      c.header("Retry-After", String(Math.ceil(wait / 1000)));
      return c.json({
        error: "rate_limited",
        message: "You are sending too fast.",
        retryAfter: wait,
      }, 429);
    }
    const clientId = body.value.clientId ?? crypto.randomUUID();
    const parsed = parseClientFrame(
      JSON.stringify({ type: "message", text: body.value.text, clientId }),
    );
    if (!parsed.ok || parsed.frame.type !== "message") {
      const failure = parsed.ok
        ? { code: "bad_frame", message: "Invalid message." }
        : parsed;
      if (body.form) {
        return c.redirect(`/chat/${room}?error=${failure.code}`, 303);
      }
      return c.json({ error: failure.code, message: failure.message }, 400);
    }
    const { message, duplicate } = await services.store.append({
      room,
      user,
      text: parsed.frame.text,
      clientId: parsed.frame.clientId,
    });
    if (!duplicate) {
      await services.layer.groupSend(room, { type: "message", message });
    }
    if (body.form) return c.redirect(`/chat/${room}#m${message.seq}`, 303);
    return c.json({ message, duplicate }, duplicate ? 200 : 201);
  },
};

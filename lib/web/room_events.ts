/**
 * The HTTP side of edits, deletes and reactions: one handler shape for
 * `PATCH`/`DELETE /api/rooms/:room/messages/:seq`, `POST …/:seq/reactions`
 * and the no-JS page's forms, all through `postEvent` (the socket's path:
 * same rules, budgets and broadcast). JSON callers get the event (200/201)
 * or the refusal's status (403 someone else's, 404 no such message, 429 too
 * fast); a form is redirected back to the room. A room the caller may not
 * see was already answered 404 by the room APIs' middleware (`enterRoom`).
 *
 * @module
 */

import type { Context } from "hono";
import { normalizeRoomName } from "../chat/names.ts";
import { postEvent } from "../chat/post.ts";
import { validateEventOp } from "../chat/protocol.ts";
import type { AppEnv } from "../context.ts";
import { readBody } from "./body.ts";
import { refusalResponse, routeError } from "./errors.ts";

/** Which operation a request asks for; its fields come from the body. */
export type EventKind = "edit" | "delete" | "react";

/**
 * Handles one event request for the message `:seq` of `:room`: `kind`, or
 * for a form, its `action` field (a form can only POST).
 *
 * @example
 * ```ts
 * export const handler = { DELETE: (c) => handleEvent(c, "delete") };
 * ```
 */
export async function handleEvent(
  c: Context<AppEnv>,
  kind: EventKind | "form",
): Promise<Response> {
  const services = c.get("services");
  const user = c.get("user");
  const room = normalizeRoomName(c.req.param("room") ?? "");
  if (!room) return routeError(c, "bad_room");
  const target = Number(c.req.param("seq"));
  if (!Number.isSafeInteger(target) || target < 1) {
    return routeError(c, "not_found");
  }
  const body = await readBody(c);
  if (!body.ok) return routeError(c, body.error);
  if (!user) return routeError(c, "unauthorized");
  const fields = body.value;
  const type = kind === "form" ? fields.action : kind;
  const data: Record<string, unknown> = { ...fields, target };
  // A form's checkbox-free toggle: `on` arrives as the string "true"/"false".
  if (typeof data.on === "string") data.on = data.on === "true";
  const valid = validateEventOp(type, data);
  const clientId = typeof fields.clientId === "string"
    ? fields.clientId
    : crypto.randomUUID();
  const posted = valid.ok
    ? await postEvent(services, {
      room,
      user,
      address: c.get("client").address,
      clientId,
      request: valid.value,
    }, services.posting)
    : valid;
  // Only a form POST is redirected: an empty DELETE from an API client is not a form.
  if (kind === "form" && body.form) {
    return c.redirect(
      posted.ok
        ? `/chat/${room}#m${target}`
        : `/chat/${room}?error=${posted.code}`,
      303,
    );
  }
  if (!posted.ok) return refusalResponse(c, posted);
  return c.json(
    { event: posted.event, duplicate: posted.duplicate },
    posted.duplicate ? 200 : 201,
  );
}

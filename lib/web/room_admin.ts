/**
 * The HTTP side of running a room: who acts (the request's user, in the
 * route's room, from its address) and one answer shape for the actions of
 * `lib/chat/moderation.ts` — the value as JSON, or the refusal with the
 * status and words a socket gets.
 *
 * @module
 */

import type { Context } from "hono";
import { takeRead } from "../chat/budgets.ts";
import { normalizeDisplayName, normalizeRoomName } from "../chat/names.ts";
import { type Actor, type Outcome, spendAction } from "../chat/moderation.ts";
import { rateLimited } from "../chat/protocol.ts";
import type { Reactor } from "../chat/types.ts";
import type { AppEnv } from "../context.ts";
import { readBody } from "./body.ts";
import { refusalResponse, routeError } from "./errors.ts";

/**
 * The acting user in the route's `:room`, or the error response (400 bad
 * room, 401 signed out, 429 over budget). A `read` spends from the person's
 * read budget (as history pages do), a `write` from their message budget
 * (`spendAction`, as the socket's frames do).
 *
 * @example
 * ```ts
 * const actor = roomActor(c, "write");
 * if (actor instanceof Response) return actor;
 * ```
 */
export function roomActor(
  c: Context<AppEnv>,
  spend: "read" | "write",
): Actor | Response {
  const room = normalizeRoomName(c.req.param("room") ?? "");
  if (!room) return routeError(c, "bad_room");
  const user = c.get("user");
  const services = c.get("services");
  if (!user) return routeError(c, "unauthorized");
  const actor = { room, user, address: c.get("client").address };
  if (spend === "write") {
    const refused = spendAction(services, actor);
    return refused ? refusalResponse(c, refused) : actor;
  }
  const wait = takeRead(services.budgets, user.id, actor.address);
  if (wait === 0) return actor;
  services.metrics.drop("rate_limited");
  return refusalResponse(c, rateLimited(wait));
}

/**
 * A write to the route's `:room`: the acting user (as {@link roomActor}
 * with `write`) and the request's body as an object, or the error response.
 *
 * @example
 * ```ts
 * const request = await roomWrite(c);
 * if (request instanceof Response) return request;
 * const { actor, body } = request;
 * ```
 */
export async function roomWrite(
  c: Context<AppEnv>,
): Promise<{ actor: Actor; body: Record<string, unknown> } | Response> {
  const actor = roomActor(c, "write");
  if (actor instanceof Response) return actor;
  const body = await readBody(c);
  return body.ok ? { actor, body: body.value } : routeError(c, body.error);
}

/** A `{id, name}` person from a body field, or null. */
export function personOf(value: unknown): Reactor | null {
  if (typeof value !== "object" || value === null) return null;
  const { id, name } = value as Record<string, unknown>;
  const clean = normalizeDisplayName(name);
  return typeof id === "string" && id.length > 0 && id.length <= 128 && clean
    ? { id, name: clean }
    : null;
}

/** Answers an action's outcome: its value as JSON (`status`), or its refusal. */
export function outcomeResponse<T>(
  c: Context<AppEnv>,
  outcome: Outcome<T>,
  wrap: (value: T) => Record<string, unknown>,
  status: 200 | 201 = 200,
): Response {
  return outcome.ok
    ? c.json(wrap(outcome.value), status)
    : refusalResponse(c, outcome);
}

/**
 * The one way a message is posted, whatever it came through (a socket frame,
 * an HTTP post, a form): may this user post here, within their budget, then
 * store first and broadcast unless it is a retry of a stored message.
 *
 * @module
 */

import type { Metrics } from "../metrics.ts";
import { inForce } from "../store/room_rules.ts";
import type { MessageStore, RoomStore } from "../store/types.ts";
import {
  DEFAULT_ROOM_SETTINGS as DEFAULT_SETTINGS,
  roomRefusal,
} from "./moderation.ts";
import type { Budgets } from "./budgets.ts";
import type { ChannelLayer } from "./layer.ts";
import { takeAll } from "./rate_limit.ts";
import {
  type EventRequest,
  moderates,
  rateLimited,
  type Refusal,
  type StandingView,
  type ValidMessage,
} from "./protocol.ts";
import type {
  ChatMessage,
  ChatUser,
  EventOp,
  RoomEvent,
  RoomInfo,
  RoomRole,
} from "./types.ts";

/**
 * A room's rules for one person as their socket already knows them: the
 * room's record and their standing, read when the socket joined and kept
 * current by the room group's `room` and `standing` frames (a ban closes the
 * socket instead). A post that carries them is checked without reading the
 * store: reading them per message (one `getMany` of 4–5 keys) took the ramp
 * from 63,600 to 34,800 deliveries/s on 2 cores (2026-11-29). A change made
 * on another instance applies here when its frame arrives, as a kick does.
 */
export interface KnownAccess {
  info: RoomInfo | null;
  standing: StandingView;
}

/** The instance's posting rules (each room's own settings are read from the store per post). */
export interface PostingPolicy {
  /** Whether guests may post (`ALLOW_GUESTS`); when false they may only read. */
  allowGuests: boolean;
  /** How long an author may edit a message (`EDIT_WINDOW_MINUTES`; default `DEFAULT_EDIT_WINDOW_MS`). */
  editWindowMs?: number;
}

/**
 * Whether `user` may post in a room under `policy`. The room page (to offer
 * a composer or a sign-in), the socket and the HTTP route all ask this.
 *
 * @example
 * ```ts
 * canPost(guest, { allowGuests: false }); // false
 * ```
 */
export function canPost(user: ChatUser, policy: PostingPolicy): boolean {
  return user.kind !== "guest" || policy.allowGuests;
}

/**
 * Runs one async step per key at a time, in call order: the room checks of
 * one person's posts. KV reads may complete out of order (they run on a
 * thread pool), and a person's messages must reach `append` — which keeps
 * its callers' order — in the order they were sent. Only the check is
 * serialized; appends still queue into the same group commit.
 *
 * @example
 * ```ts
 * const order = new PostOrder();
 * const a = order.run("r\0ana", () => readA()); // readB starts once readA is done
 * const b = order.run("r\0ana", () => readB());
 * ```
 */
export class PostOrder {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `step` after the previous step of `key` has settled. */
  run<T>(key: string, step: () => Promise<T>): Promise<T> {
    const tail = this.#tails.get(key);
    const next = tail ? tail.then(step, step) : step();
    this.#tails.set(key, next);
    const forget = () => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  /** Keys with a step in flight (for tests: none are kept once settled). */
  get size(): number {
    return this.#tails.size;
  }
}

/** What posting needs from the app. */
export interface PostDeps {
  store: MessageStore;
  /** Room settings, roles, mutes, bans and slow mode: read per post, so every instance is current. */
  rooms: RoomStore;
  /** Keeps each person's posts in order through the room checks. */
  postOrder: PostOrder;
  layer: ChannelLayer;
  metrics: Metrics;
  budgets: Budgets;
}

/** A message to post: where, by whom (and from which address), and its validated text and key. */
export interface PostRequest extends ValidMessage {
  room: string;
  user: ChatUser;
  /** The sender's client address, for the per-address budget. */
  address: string;
  /** The `seq` of the message replied to (it must exist). */
  replyTo?: number;
  /** The room's rules as the sender's socket knows them; absent: read from the store. */
  known?: KnownAccess;
}

/** The outcome of {@link postMessage}. */
export type PostResult =
  | {
    ok: true;
    message: ChatMessage;
    /** A retry of a stored `clientId`: nothing was stored or broadcast. */
    duplicate: boolean;
  }
  | Refusal;

/**
 * Posts a validated message (see `validateMessage`): the sender's, their
 * address's and the room's budgets must all have a token (else nothing is
 * stored and the refusal says how long to wait). A duplicate is returned to
 * the caller, who hands it back to the sender only.
 *
 * @example
 * ```ts
 * const r = await postMessage(services, { room, user, address, text, clientId }, services.posting);
 * if (!r.ok) reply(r.code, r.message, r.retryAfter);
 * ```
 */
export async function postMessage(
  deps: PostDeps,
  request: PostRequest,
  policy: PostingPolicy,
): Promise<PostResult> {
  const refused = admitNow(deps, request, policy);
  if (refused) return refused;
  const admitted = admitKnown(deps, request, "message") ??
    await deps.postOrder.run(
      orderKey(request),
      () => admitToRoom(deps, request, "message"),
    );
  if (!admitted.ok) return admitted;
  const { room, user, text, clientId, replyTo } = request;
  if (replyTo !== undefined && !(await deps.store.get(room, replyTo))) {
    return {
      ok: false,
      code: "not_found",
      message: "The message you reply to does not exist.",
    };
  }
  const { message, duplicate } = await deps.store.append({
    room,
    user,
    text,
    clientId,
    ...(replyTo === undefined ? {} : { replyTo }),
  });
  if (!duplicate) {
    await deps.layer.groupSend(request.room, { type: "message", message });
  }
  return { ok: true, message, duplicate };
}

/**
 * The checks every post and event passes first, in this order: may this
 * user post here (the instance's rule), do they, their address and the room
 * have a token (decided at once, so refusals for budget come back in the
 * order the frames came: nothing is awaited before them); then
 * {@link admitToRoom}: the room's rules — ban, guests, signed-in or members
 * only, mute: one store read, so a change made on any instance holds at
 * once — and (messages only, moderators exempt) is their slow-mode slot
 * free. A delete skips the room's posting rules (a muted author may still
 * delete their own message; a moderator deletes anyone's) but not a ban.
 */
function admitNow(
  deps: PostDeps,
  request: { room: string; user: ChatUser; address: string },
  policy: PostingPolicy,
): Refusal | null {
  if (!canPost(request.user, policy)) {
    return {
      ok: false,
      code: "sign_in_required",
      message: "Sign in to chat in this room.",
    };
  }
  const { budgets } = deps;
  const wait = takeAll([
    [budgets.messages, request.user.id],
    [budgets.messagesPerAddress, request.address],
    [budgets.messagesPerRoom, request.room],
  ]);
  if (wait > 0) {
    deps.metrics.drop("rate_limited");
    return rateLimited(wait);
  }
  return null;
}

/** One sender in one room (a room name has no NUL). */
function orderKey(request: { room: string; user: ChatUser }): string {
  return `${request.room}\u0000${request.user.id}`;
}

/** Who is posting, where, and (from a socket) the rules it already knows. */
interface RoomRequest {
  room: string;
  user: ChatUser;
  address: string;
  known?: KnownAccess;
}

/**
 * The room's checks at once, from the rules the socket knows, when nothing
 * needs the store (no slow-mode slot to take): posts then reach `append` in
 * the order they came without {@link PostOrder}. Null: take the store's path.
 */
function admitKnown(
  deps: PostDeps,
  request: RoomRequest,
  kind: "message" | EventRequest["type"],
): AdmittedPost | Refusal | null {
  if (!request.known) return null;
  const rules = knownRules(request.known);
  const settings = rules.info?.settings ?? DEFAULT_SETTINGS;
  if (
    kind === "message" && settings.slowModeSeconds > 0 &&
    !moderates(rules.standing.role)
  ) return null;
  const admitted = admitByRules(deps, request, kind, settings, rules.standing);
  if (admitted.ok) deps.metrics.messageIn();
  return admitted;
}

/** The rules a socket knows, in the store's shape: a mute whose time is up is gone. */
function knownRules(known: KnownAccess, now: number = Date.now()) {
  const { role, mute } = known.standing;
  return {
    info: known.info,
    standing: {
      role,
      mute: inForce(mute ?? null, now),
      ban: null,
    },
  };
}

/** A post the room's rules let through, with the poster's role there. */
interface AdmittedPost {
  ok: true;
  role: RoomRole | null;
}

/** The room's rules (ban, guests, signed-in or members only, mute) for one post. */
function admitByRules(
  deps: PostDeps,
  request: RoomRequest,
  kind: "message" | EventRequest["type"],
  settings: RoomInfo["settings"],
  standing: Parameters<typeof roomRefusal>[2],
): AdmittedPost | Refusal {
  const refusal = kind !== "delete"
    ? roomRefusal(request.user, settings, standing)
    : standing.ban
    ? roomRefusal(request.user, DEFAULT_SETTINGS, standing)
    : null;
  if (refusal) {
    deps.metrics.drop(`refused_${refusal.code}`);
    return refusal;
  }
  return { ok: true, role: standing.role };
}

/**
 * The room's part of {@link admitNow}'s checks: the rules (known by the
 * socket, or one store read), then slow mode (a slot taken in the store).
 */
async function admitToRoom(
  deps: PostDeps,
  request: RoomRequest,
  kind: "message" | EventRequest["type"],
): Promise<AdmittedPost | Refusal> {
  const rules = request.known
    ? knownRules(request.known)
    : await deps.rooms.access(request.room, request.user.id, request.address);
  const settings = rules.info?.settings ?? DEFAULT_SETTINGS;
  const admitted = admitByRules(deps, request, kind, settings, rules.standing);
  if (!admitted.ok) return admitted;
  const slow = settings.slowModeSeconds;
  if (kind === "message" && slow > 0 && !moderates(admitted.role)) {
    const until = await deps.rooms.takeSlot(
      request.room,
      request.user.id,
      slow,
    );
    if (until > 0) {
      deps.metrics.drop("slow_mode");
      return {
        ok: false,
        code: "slow_mode",
        message: `Slow mode is on: one message every ${slow} s.`,
        retryAfter: until,
      };
    }
  }
  deps.metrics.messageIn();
  return admitted;
}

/** An edit, delete or reaction to post: where, by whom, from which address, what, and its key. */
export interface EventPostRequest {
  room: string;
  user: ChatUser;
  address: string;
  clientId: string;
  /** Validated by `validateEventOp`. */
  request: EventRequest;
  /** The room's rules as the sender's socket knows them; absent: read from the store. */
  known?: KnownAccess;
}

/** The outcome of {@link postEvent}. */
export type EventPostResult =
  | { ok: true; event: RoomEvent; duplicate: boolean }
  | Refusal;

/**
 * Posts an edit, delete or reaction through the same gate as a message
 * (who may post, the same budgets), then the store checks it against its
 * target (author, edit window, reaction bound) and applies it atomically;
 * a stored event is broadcast as an `event` frame.
 *
 * @example
 * ```ts
 * const r = await postEvent(services, { room, user, address, clientId, request: { type: "delete", target: 7 } }, services.posting);
 * if (!r.ok) reply(r.code, r.message);
 * ```
 */
export async function postEvent(
  deps: PostDeps,
  post: EventPostRequest,
  policy: PostingPolicy,
): Promise<EventPostResult> {
  const refused = admitNow(deps, post, policy);
  if (refused) return refused;
  const admitted = admitKnown(deps, post, post.request.type) ??
    await deps.postOrder.run(
      orderKey(post),
      () => admitToRoom(deps, post, post.request.type),
    );
  if (!admitted.ok) return admitted;
  // A moderator deleting someone else's message deletes it as a moderator.
  const target = post.request.type === "delete" &&
      moderates(admitted.role)
    ? await deps.store.get(post.room, post.request.target)
    : null;
  const byModerator = target !== null && target.user.id !== post.user.id;
  const result = await deps.store.applyEvent({
    room: post.room,
    user: post.user,
    clientId: post.clientId,
    op: toOp(post.request, byModerator),
    ...(policy.editWindowMs === undefined
      ? {}
      : { editWindowMs: policy.editWindowMs }),
    ...(byModerator ? { moderator: true } : {}),
  });
  if (result.ok && !result.duplicate) {
    await deps.layer.groupSend(post.room, {
      type: "event",
      event: result.event,
    });
    if (byModerator && target) {
      await deps.rooms.audit(post.room, {
        ts: result.event.ts,
        actor: { id: post.user.id, name: post.user.name },
        action: "delete",
        subject: { id: target.user.id, name: target.user.name },
        target: target.seq,
      });
    }
  }
  return result;
}

function toOp(request: EventRequest, byModerator: boolean): EventOp {
  switch (request.type) {
    case "edit":
      return { kind: "edit", target: request.target, text: request.text };
    case "delete":
      return {
        kind: "delete",
        target: request.target,
        by: byModerator ? "moderator" : "author",
      };
    case "react":
      return {
        kind: "react",
        target: request.target,
        emoji: request.emoji,
        on: request.on,
      };
    default: {
      const _exhaustive: never = request;
      throw new Error("unknown event request");
    }
  }
}

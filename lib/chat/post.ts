/**
 * The one way a message is posted, whatever it came through (a socket frame,
 * an HTTP post, a form): may this user post here, within their budget, then
 * store first and broadcast unless it is a retry of a stored message.
 *
 * @module
 */

import type { Metrics } from "../metrics.ts";
import type { MessageStore } from "../store/types.ts";
import type { Budgets } from "./budgets.ts";
import type { ChannelLayer } from "./layer.ts";
import { takeAll } from "./rate_limit.ts";
import { rateLimited, type Refusal, type ValidMessage } from "./protocol.ts";
import type { ChatMessage, ChatUser } from "./types.ts";

/** The room's posting rules (today the instance's; room settings come later). */
export interface PostingPolicy {
  /** Whether guests may post (`ALLOW_GUESTS`); when false they may only read. */
  allowGuests: boolean;
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

/** What posting needs from the app. */
export interface PostDeps {
  store: MessageStore;
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
  deps.metrics.messageIn();
  const { room, user, text, clientId } = request;
  const { message, duplicate } = await deps.store.append({
    room,
    user,
    text,
    clientId,
  });
  if (!duplicate) {
    await deps.layer.groupSend(request.room, { type: "message", message });
  }
  return { ok: true, message, duplicate };
}

/**
 * The room log's events (edit, delete, react) and how they fold into the
 * message they target: the one copy of these rules, used by the store (which
 * folds an event into its target in the same write that appends it) and by
 * the client's `Timeline` (which folds live and resumed events), so both reach
 * the same state. Pure: no I/O, safe to import from islands.
 *
 * @module
 */

import type { Refusal } from "./protocol.ts";
import type {
  ChatMessage,
  ChatUser,
  EventOp,
  Reaction,
  ReplyQuote,
  RoomEvent,
} from "./types.ts";

/** How long an author may edit a message by default: a day, as in most chat products. */
export const DEFAULT_EDIT_WINDOW_MS = 24 * 3600 * 1000;
/** Distinct emoji per message: enough for any real conversation, bounded so a message stays small. */
export const MAX_DISTINCT_REACTIONS = 20;
/**
 * Reactions one message holds in all (a person on an emoji is one): the
 * message is stored whole with who reacted, in one Deno KV value of at most
 * 64 KiB. A reactor is at most ~130 bytes serialized (an id of ≤ 42 and a
 * name of ≤ 32 characters), so 400 of them (52 KiB) and a message of 4,000
 * characters (≤ 8 KiB) still fit; past it a reaction is refused, where it
 * would fail the write.
 */
export const MAX_REACTIONS_PER_MESSAGE = 400;
/** Reactors a message shows by name per emoji (the rest are a count). */
export const SHOWN_REACTORS = 3;
/** Longest quoted first line of a reply's parent, in UTF-16 units. */
export const MAX_SNIPPET_CHARS = 120;
/** Longest emoji accepted, in UTF-16 units (a family with skin tones is about 20). */
export const MAX_EMOJI_CHARS = 32;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/**
 * Whether `value` is exactly one emoji: a single grapheme that is pictographic.
 *
 * @example
 * ```ts
 * isOneEmoji("👍");   // true
 * isOneEmoji("👍👍"); // false
 * isOneEmoji("a");    // false
 * ```
 */
export function isOneEmoji(value: unknown): value is string {
  if (
    typeof value !== "string" || value.length === 0 ||
    value.length > MAX_EMOJI_CHARS || !PICTOGRAPHIC.test(value)
  ) return false;
  let n = 0;
  for (const _ of graphemes.segment(value)) if (++n > 1) return false;
  return n === 1;
}

/** The `seq` a message is folded up to (see `ChatMessage.rev`). */
export function revOf(message: ChatMessage): number {
  return message.rev ?? message.seq;
}

/**
 * What a reply shows of `parent`: its author and first line, "deleted", or
 * "gone" when the store no longer has it.
 *
 * @example
 * ```ts
 * quoteOf(undefined); // { state: "gone" }
 * ```
 */
export function quoteOf(parent: ChatMessage | null | undefined): ReplyQuote {
  if (!parent) return { state: "gone" };
  if (parent.deleted) return { state: "deleted" };
  return {
    state: "shown",
    user: { id: parent.user.id, name: parent.user.name },
    snippet: snippetOf(parent.text),
  };
}

/**
 * Whether `userId` may still edit `message` at `now`: their own, not deleted,
 * and younger than the edit window. The rule {@link checkEvent} enforces, for
 * a client that offers "Edit" only where the server will take it.
 *
 * @example
 * ```ts
 * mayEdit(message, me.id, Date.now(), 15 * 60_000); // false after 15 minutes
 * ```
 */
export function mayEdit(
  message: ChatMessage,
  userId: string,
  now: number,
  editWindowMs: number = DEFAULT_EDIT_WINDOW_MS,
): boolean {
  return message.user.id === userId && !message.deleted &&
    now - message.ts <= editWindowMs;
}

/** Why an event may not be applied to `target`, or null when it may. */
export function checkEvent(
  target: ChatMessage | null | undefined,
  op: EventOp,
  user: ChatUser,
  now: number,
  editWindowMs: number = DEFAULT_EDIT_WINDOW_MS,
  moderator = false,
): Refusal | null {
  if (!target) return refusal("not_found", "That message does not exist.");
  if (target.deleted) {
    return refusal("message_deleted", "That message was deleted.");
  }
  switch (op.kind) {
    case "edit":
      if (target.user.id !== user.id) {
        return refusal("forbidden", "You can only edit your own messages.");
      }
      if (now - target.ts > editWindowMs) {
        return refusal(
          "edit_window_passed",
          "This message is too old to edit.",
        );
      }
      return null;
    case "delete":
      // A moderator's delete needs the caller's word that the room's roles allow it.
      if (op.by === "moderator" ? !moderator : target.user.id !== user.id) {
        return refusal("forbidden", "You can only delete your own messages.");
      }
      return null;
    case "react": {
      const reactions = target.reactions ?? [];
      const same = reactions.find((r) => r.emoji === op.emoji);
      if (!op.on || same?.users.some((u) => u.id === user.id)) return null;
      if (!same && reactions.length >= MAX_DISTINCT_REACTIONS) {
        return refusal(
          "too_many_reactions",
          `A message takes at most ${MAX_DISTINCT_REACTIONS} different reactions.`,
        );
      }
      const total = reactions.reduce((n, r) => n + r.users.length, 0);
      if (total >= MAX_REACTIONS_PER_MESSAGE) {
        return refusal(
          "too_many_reactions",
          `A message takes at most ${MAX_REACTIONS_PER_MESSAGE} reactions in all.`,
        );
      }
      return null;
    }
    default: {
      const _exhaustive: never = op;
      return refusal("bad_frame", "Unknown event.");
    }
  }
}

function refusal(code: Refusal["code"], message: string): Refusal {
  return { ok: false, code, message };
}

/**
 * Folds `event` into `message` (its target) and returns the new message, or
 * the same object when the event is already folded in (`event.seq` at or
 * below its `rev`) or changes nothing (an edit without text, anything after
 * a delete). Events must be folded in `seq` order.
 *
 * @example
 * ```ts
 * const edited = foldEvent(message, { kind: "edit", target: message.seq, text: "fixed", seq: 9, ... });
 * edited.text; // "fixed"; foldEvent(edited, sameEvent) === edited
 * ```
 */
export function foldEvent(message: ChatMessage, event: RoomEvent): ChatMessage {
  if (event.seq <= revOf(message) || message.deleted) return message;
  switch (event.kind) {
    case "edit":
      if (event.text === undefined) return message;
      return { ...message, text: event.text, edited: event.ts, rev: event.seq };
    case "delete": {
      const { quote: _q, reactions: _r, edited: _e, ...rest } = message;
      return {
        ...rest,
        text: "",
        deleted: { by: event.by, ts: event.ts },
        rev: event.seq,
      };
    }
    case "react": {
      const reactions = toggle(message.reactions ?? [], event);
      const next: ChatMessage = { ...message, rev: event.seq };
      if (reactions.length) next.reactions = reactions;
      else delete next.reactions;
      return next;
    }
    default: {
      const _exhaustive: never = event;
      return message;
    }
  }
}

function toggle(
  reactions: readonly Reaction[],
  event: RoomEvent & { kind: "react" },
): Reaction[] {
  const { emoji, on, user } = event;
  const i = reactions.findIndex((r) => r.emoji === emoji);
  if (!on) {
    if (i === -1) return [...reactions];
    const users = reactions[i].users.filter((u) => u.id !== user.id);
    return users.length
      ? reactions.map((r, j) => j === i ? { emoji, users } : r)
      : reactions.filter((_, j) => j !== i);
  }
  const me = { id: user.id, name: user.name };
  if (i === -1) {
    // The store refuses more; a client folding a stored event never sees it.
    if (reactions.length >= MAX_DISTINCT_REACTIONS) return [...reactions];
    return [...reactions, { emoji, users: [me] }];
  }
  if (reactions[i].users.some((u) => u.id === user.id)) return [...reactions];
  return reactions.map((r, j) =>
    j === i ? { emoji, users: [...r.users, me] } : r
  );
}

/**
 * Updates a reply's quote after an event on its parent (an edit changes the
 * snippet, a delete says so); returns the same object when nothing changed.
 * Works without the parent at hand: an edit is by the parent's author and
 * carries its new text.
 */
export function requote(reply: ChatMessage, event: RoomEvent): ChatMessage {
  if (reply.replyTo !== event.target || reply.deleted) return reply;
  let quote: ReplyQuote;
  switch (event.kind) {
    case "delete":
      quote = { state: "deleted" };
      break;
    case "edit":
      if (event.text === undefined || reply.quote?.state === "deleted") {
        return reply;
      }
      quote = {
        state: "shown",
        user: { id: event.user.id, name: event.user.name },
        snippet: snippetOf(event.text),
      };
      break;
    case "react":
      return reply;
    default: {
      const _exhaustive: never = event;
      return reply;
    }
  }
  if (JSON.stringify(quote) === JSON.stringify(reply.quote)) return reply;
  return { ...reply, quote };
}

/** The first line of `text`, shortened to {@link MAX_SNIPPET_CHARS}. */
export function snippetOf(text: string): string {
  const line = text.split("\n", 1)[0];
  return line.length > MAX_SNIPPET_CHARS
    ? line.slice(0, MAX_SNIPPET_CHARS - 1) + "…"
    : line;
}

import { useSignal } from "@preact/signals";
import type { JSX, VNode } from "preact";
import {
  isOneEmoji,
  MAX_EMOJI_CHARS,
  SHOWN_REACTORS,
} from "../lib/chat/events.ts";
import type { ChatMessage, Reaction, ReplyQuote } from "../lib/chat/types.ts";
import {
  type ModerationHandlers,
  OthersActions,
} from "./ModerationActions.tsx";

/** The picker's common emoji; "any" takes one more. */
export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"] as const;

/** What a message's actions do, in the live room. */
export interface MessageActionHandlers {
  /** Puts (`on`) or takes back the viewer's `emoji` on message `seq`. */
  onReact(seq: number, emoji: string, on: boolean): void;
  /** Starts a reply to `message` in the composer. */
  onReply(message: ChatMessage): void;
  /** Starts editing `message` in place. */
  onEdit(message: ChatMessage): void;
  /** Whether "Edit" is offered on `message` (your own, within the edit window). */
  canEdit(message: ChatMessage): boolean;
  /** Deletes message `seq` (already confirmed). */
  onDelete(seq: number): void;
  /** Scrolls to message `seq`, loading older pages if needed. */
  onJump(seq: number): void;
  /** Reports someone else's message to the room's moderators. */
  onReport?(seq: number, reason?: string): void;
  /** Present for the room's moderators: their actions on others' messages. */
  moderation?: ModerationHandlers;
}

/** Who reacted, as a label: the first few names, then how many more. */
export function reactorsLabel(reaction: Reaction): string {
  const names = reaction.users.slice(0, SHOWN_REACTORS).map((u) => u.name);
  const more = reaction.users.length - names.length;
  return more > 0 ? `${names.join(", ")} and ${more} more` : names.join(", ");
}

/** A reply's quote of its parent: clicking it goes to the parent. */
export function QuoteLine(
  { replyTo, quote, onJump }: {
    replyTo: number;
    quote?: ReplyQuote;
    onJump?: (seq: number) => void;
  },
): VNode {
  const text = !quote || quote.state === "gone"
    ? "Reply to an earlier message"
    : quote.state === "deleted"
    ? "Reply to a deleted message"
    : `${quote.user.name}: ${quote.snippet}`;
  return (
    <a
      class="reply-quote small text-body-secondary d-block"
      href={`#m${replyTo}`}
      data-testid="reply-quote"
      onClick={onJump &&
        ((e: Event) => {
          e.preventDefault();
          onJump(replyTo);
        })}
    >
      <i class="bi bi-reply me-1" aria-hidden="true"></i>
      {text}
    </a>
  );
}

/** The reaction chips: each toggles the viewer's reaction (live room only). */
export function Reactions(
  { message, meId, onReact }: {
    message: ChatMessage;
    meId?: string;
    onReact?: MessageActionHandlers["onReact"];
  },
): VNode | null {
  const reactions = message.reactions ?? [];
  if (reactions.length === 0) return null;
  return (
    <div class="reactions" data-testid="reactions">
      {reactions.map((r) => {
        const mine = r.users.some((u) => u.id === meId);
        const who = reactorsLabel(r);
        return (
          <button
            key={r.emoji}
            type="button"
            class={`reaction btn btn-sm ${
              mine ? "btn-primary" : "btn-outline-secondary"
            }`}
            aria-pressed={mine}
            aria-label={`${r.emoji} ${r.users.length}: ${who}`}
            title={who}
            disabled={!onReact}
            onClick={() => onReact?.(message.seq, r.emoji, !mine)}
          >
            {r.emoji} <span class="reaction-count">{r.users.length}</span>
          </button>
        );
      })}
    </div>
  );
}

/**
 * Who the no-JS page's plain actions are for: `author` deletes their own
 * messages, `moderator` anyone's (the server decides again when the form
 * posts).
 */
export type StaticActions = "off" | "author" | "moderator";

/**
 * The actions on one message: react (a small picker), reply, and for your
 * own edit and delete (with a confirmation). Without JavaScript (`plain`),
 * reply is a link that prefills the composer and delete is a form, on
 * anyone's message for a moderator.
 */
export function MessageActions(
  { room, message, meId, handlers, plain = "off" }: {
    room: string;
    message: ChatMessage;
    meId?: string;
    handlers?: MessageActionHandlers;
    plain?: StaticActions;
  },
): VNode {
  const picking = useSignal(false);
  const confirming = useSignal(false);
  const other = useSignal("");
  const seq = message.seq;
  const mine = message.user.id === meId;
  // On the no-JS page a moderator deletes others' messages with the same form
  // (the server deletes as a moderator for whoever moderates the room).
  const mayDelete = mine || plain === "moderator";
  const react = (emoji: string) => {
    // Picking an emoji you already put there takes it back (as its chip does).
    const mineAlready = (message.reactions ?? []).some((r) =>
      r.emoji === emoji && r.users.some((u) => u.id === meId)
    );
    handlers?.onReact(seq, emoji, !mineAlready);
    picking.value = false;
  };
  const submitOther = (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (isOneEmoji(other.value.trim())) {
      react(other.value.trim());
      other.value = "";
    }
  };
  const onDeleteSubmit = (e: JSX.TargetedEvent<HTMLFormElement>) => {
    if (!handlers) return; // No JavaScript: the form posts.
    e.preventDefault();
    confirming.value = true;
  };
  return (
    <div class="message-actions small" data-testid="message-actions">
      {handlers && (
        <button
          type="button"
          class="btn btn-link btn-sm p-0 me-2"
          aria-label="React"
          aria-expanded={picking.value}
          onClick={() => (picking.value = !picking.value)}
        >
          <i class="bi bi-emoji-smile" aria-hidden="true"></i>
        </button>
      )}
      <a
        class="btn btn-link btn-sm p-0 me-2"
        href={`/chat/${room}?replyTo=${seq}#composer`}
        aria-label="Reply"
        onClick={handlers &&
          ((e: Event) => {
            e.preventDefault();
            handlers.onReply(message);
          })}
      >
        <i class="bi bi-reply" aria-hidden="true"></i>
      </a>
      {mine && handlers?.canEdit(message) && (
        <button
          type="button"
          class="btn btn-link btn-sm p-0 me-2"
          aria-label="Edit"
          onClick={() => handlers.onEdit(message)}
        >
          <i class="bi bi-pencil" aria-hidden="true"></i>
        </button>
      )}
      {mayDelete && !confirming.value && (
        <form
          class="d-inline"
          method="post"
          action={`/api/rooms/${room}/messages/${seq}`}
          onSubmit={onDeleteSubmit}
        >
          <input type="hidden" name="action" value="delete" />
          <button
            type="submit"
            class="btn btn-link btn-sm p-0 text-danger"
            aria-label={mine ? "Delete" : "Delete as moderator"}
          >
            <i class="bi bi-trash" aria-hidden="true"></i>
          </button>
        </form>
      )}
      {!mine && handlers && (
        <OthersActions
          message={message}
          onReport={handlers.onReport}
          moderation={handlers.moderation}
        />
      )}
      {confirming.value && (
        <span role="group" aria-label="Delete this message?">
          <span class="me-1">Delete this message?</span>
          <button
            type="button"
            class="btn btn-danger btn-sm py-0 me-1"
            onClick={() => {
              confirming.value = false;
              handlers?.onDelete(seq);
            }}
          >
            Delete
          </button>
          <button
            type="button"
            class="btn btn-outline-secondary btn-sm py-0"
            onClick={() => (confirming.value = false)}
            onKeyDown={(e) => {
              if (e.key === "Escape") confirming.value = false;
            }}
          >
            Cancel
          </button>
        </span>
      )}
      {picking.value && (
        <div class="emoji-picker" role="group" aria-label="Pick a reaction">
          {COMMON_EMOJI.map((emoji) => (
            <button
              key={emoji}
              type="button"
              class="btn btn-sm btn-light"
              aria-label={`React ${emoji}`}
              onClick={() => react(emoji)}
            >
              {emoji}
            </button>
          ))}
          <form class="d-inline-flex" onSubmit={submitOther}>
            <input
              class="form-control form-control-sm emoji-any"
              aria-label="Any emoji"
              placeholder="any"
              maxLength={MAX_EMOJI_CHARS}
              value={other.value}
              onInput={(e) => (other.value = e.currentTarget.value)}
            />
          </form>
        </div>
      )}
    </div>
  );
}

/** Editing a message in place: Enter saves, Esc (or Cancel) gives up. */
export function EditBox(
  { message, onSave, onCancel }: {
    message: ChatMessage;
    onSave: (text: string) => void;
    onCancel: () => void;
  },
): VNode {
  const text = useSignal(message.text);
  const save = (e?: Event) => {
    e?.preventDefault();
    if (text.value.trim()) onSave(text.value);
  };
  return (
    <form class="edit-box ms-4" onSubmit={save} data-testid="edit-box">
      <textarea
        class="form-control form-control-sm"
        aria-label="Edit message"
        dir="auto"
        value={text.value}
        ref={(el) => el?.focus()}
        onInput={(e) => (text.value = e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            onCancel();
          } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            save(e);
          }
        }}
      />
      <div class="small mt-1">
        <button type="submit" class="btn btn-primary btn-sm py-0 me-1">
          Save
        </button>
        <button
          type="button"
          class="btn btn-outline-secondary btn-sm py-0"
          onClick={onCancel}
        >
          Cancel
        </button>
        <span class="text-body-secondary ms-2">Esc to cancel</span>
      </div>
    </form>
  );
}

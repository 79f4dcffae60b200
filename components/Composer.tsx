import { useSignal } from "@preact/signals";
import type { JSX, VNode } from "preact";
import { MAX_MESSAGE_CHARS } from "../lib/chat/protocol.ts";

/** The message a draft replies to, as the composer shows it. */
export interface ReplyTarget {
  seq: number;
  /** "Ana: first line", or why there is none. */
  label: string;
}

/** What the {@link Composer} is rendered with. */
export interface ComposerProps {
  room: string;
  /** The message being replied to (a hidden `replyTo` field without JavaScript). */
  replyTo?: ReplyTarget | null;
  /** Stops replying. */
  onCancelReply?: () => void;
  /** Up arrow in an empty box: edit your last message. True when there was one. */
  onEditLast?: () => boolean;
  /** The draft changed (for typing indicators). */
  onType: (draft: string) => void;
  /** Sends the draft; true when it was taken, and the box is then cleared. */
  onSend: (text: string) => boolean;
}

/**
 * The message box. Without JavaScript it is a plain form posting to the
 * room's messages API; hydrated, Enter sends (Shift+Enter is a new line).
 */
export function Composer(
  { room, onType, onSend, replyTo = null, onCancelReply, onEditLast }:
    ComposerProps,
): VNode {
  const draft = useSignal("");

  const submit = (event?: JSX.TargetedEvent<HTMLFormElement>) => {
    event?.preventDefault();
    if (onSend(draft.value)) draft.value = "";
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (
      event.key === "ArrowUp" && draft.value === "" && onEditLast?.()
    ) {
      event.preventDefault();
      return;
    }
    if (event.key === "Escape" && replyTo && onCancelReply) {
      onCancelReply();
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form
      class="composer border-top p-2"
      method="post"
      action={`/api/rooms/${room}/messages`}
      onSubmit={submit}
      id="composer"
    >
      {replyTo && (
        <div
          class="reply-banner d-flex align-items-center gap-2 mb-1"
          data-testid="reply-banner"
        >
          <input type="hidden" name="replyTo" value={String(replyTo.seq)} />
          <span class="text-body-secondary text-truncate">
            <i class="bi bi-reply me-1" aria-hidden="true"></i>
            Replying to {replyTo.label}
          </span>
          {onCancelReply && (
            <button
              type="button"
              class="btn btn-link btn-sm p-0"
              aria-label="Cancel reply"
              onClick={onCancelReply}
            >
              <i class="bi bi-x" aria-hidden="true"></i>
            </button>
          )}
        </div>
      )}
      <div class="input-group">
        <textarea
          name="text"
          class="form-control"
          rows={1}
          maxLength={MAX_MESSAGE_CHARS}
          placeholder={`Message #${room}`}
          aria-label={`Message #${room}`}
          value={draft.value}
          onInput={(e) => {
            draft.value = e.currentTarget.value;
            onType(draft.value);
          }}
          onKeyDown={onKeyDown}
          required
        />
        <button type="submit" class="btn btn-primary" aria-label="Send">
          <i class="bi bi-send-fill" aria-hidden="true"></i>
        </button>
      </div>
    </form>
  );
}

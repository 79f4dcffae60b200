import { useSignal } from "@preact/signals";
import type { JSX, VNode } from "preact";
import { MAX_MESSAGE_CHARS } from "../lib/chat/protocol.ts";

interface ComposerProps {
  room: string;
  /** The draft changed (for typing indicators). */
  onType: (draft: string) => void;
  /** Sends the draft; true when it was taken, and the box is then cleared. */
  onSend: (text: string) => boolean;
}

/**
 * The message box. Without JavaScript it is a plain form posting to the
 * room's messages API; hydrated, Enter sends (Shift+Enter is a new line).
 */
export function Composer({ room, onType, onSend }: ComposerProps): VNode {
  const draft = useSignal("");

  const submit = (event?: JSX.TargetedEvent<HTMLFormElement>) => {
    event?.preventDefault();
    if (onSend(draft.value)) draft.value = "";
  };

  const onKeyDown = (event: KeyboardEvent) => {
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
    >
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

import { useSignal } from "@preact/signals";
import type { JSX, VNode } from "preact";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import type { ChatUser } from "../lib/chat/types.ts";
import { draftLength, lengthLabel } from "../lib/web/composer_limit.ts";
import { MentionList } from "./MentionList.tsx";
import {
  type Completed,
  MENTION_LIST_ID,
  mentionOptionId,
  useMentionPicker,
} from "./mention_picker.ts";

/**
 * Where the composer takes the focus on load: a desktop (a fine pointer and
 * a wide window). On a phone, focus would open the keyboard over the room.
 */
const FOCUS_ON_LOAD_MEDIA = "(pointer: fine) and (min-width: 768px)";

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
  /** Who `@` completion offers (the people here). */
  people?: readonly ChatUser[];
  /** The writer, left out of completion. */
  meId?: string;
}

/** Grows the box with its text; CSS caps it (about 8 lines), then it scrolls. */
function fitHeight(box: HTMLTextAreaElement | null): void {
  if (!box) return;
  // CSSOM, not a style attribute: the CSP allows it.
  box.style.height = "auto";
  box.style.height = `${
    box.scrollHeight + box.offsetHeight - box.clientHeight
  }px`;
}

/**
 * The message box. Without JavaScript it is a plain form posting to the
 * room's messages API; hydrated, Enter sends (Shift+Enter is a new line).
 */
export function Composer(
  {
    room,
    onType,
    onSend,
    replyTo = null,
    onCancelReply,
    onEditLast,
    people = [],
    meId,
  }: ComposerProps,
): VNode {
  const draft = useSignal("");
  /** Why the last send was refused (too long), until the draft changes. */
  const refusal = useSignal<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  /** Where the caret goes after a completion, once the new draft renders. */
  const caret = useRef<number | null>(null);
  const picker = useMentionPicker(people, meId);
  const length = draftLength(draft.value);
  const lengthText = lengthLabel(length);

  useEffect(() => {
    if (
      document.activeElement === document.body &&
      matchMedia(FOCUS_ON_LOAD_MEDIA).matches
    ) box.current?.focus();
  }, []);
  useLayoutEffect(() => {
    fitHeight(box.current);
    if (caret.current !== null && box.current) {
      box.current.setSelectionRange(caret.current, caret.current);
      caret.current = null;
    }
  }, [draft.value]);

  const setDraft = (text: string) => {
    draft.value = text;
    refusal.value = null;
    onType(text);
  };
  const completed = (done: Completed) => {
    caret.current = done.caret;
    setDraft(done.text);
    box.current?.focus();
  };

  const submit = (event?: JSX.TargetedEvent<HTMLFormElement>) => {
    event?.preventDefault();
    const now = draftLength(draft.value);
    if (now.state === "over") {
      // Never cut: say why, and keep every character.
      refusal.value = lengthLabel(now);
      return;
    }
    if (onSend(draft.value)) {
      draft.value = "";
      picker.close();
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (picker.onKeyDown(event, draft.value, completed)) return;
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
  const followCaret = (e: { currentTarget: HTMLTextAreaElement }) =>
    picker.update(e.currentTarget.value, e.currentTarget.selectionStart);

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
      <MentionList
        picker={picker}
        onPick={(i) => {
          const done = picker.pick(i, draft.value);
          if (done) completed(done);
        }}
      />
      <div class="input-group">
        <textarea
          ref={box}
          name="text"
          class="form-control"
          rows={1}
          dir="auto"
          placeholder={`Message #${room}`}
          aria-label={`Message #${room}`}
          aria-autocomplete="list"
          aria-controls={picker.open ? MENTION_LIST_ID : undefined}
          aria-activedescendant={picker.open
            ? mentionOptionId(picker.active)
            : undefined}
          aria-describedby={lengthText ? "composer-length" : undefined}
          aria-invalid={length.state === "over" ? true : undefined}
          value={draft.value}
          onInput={(e) => {
            setDraft(e.currentTarget.value);
            followCaret(e);
          }}
          onKeyDown={onKeyDown}
          onKeyUp={(e) => {
            if (e.key === "ArrowLeft" || e.key === "ArrowRight") followCaret(e);
          }}
          onClick={followCaret}
          onBlur={() => picker.close()}
          required
        />
        <button type="submit" class="btn btn-primary" aria-label="Send">
          <i class="bi bi-send-fill" aria-hidden="true"></i>
        </button>
      </div>
      {lengthText && (
        <div
          id="composer-length"
          class={`composer-length small mt-1 ${
            length.state === "over"
              ? "text-danger-emphasis"
              : "text-body-secondary"
          }`}
          data-testid="composer-length"
        >
          {lengthText}
        </div>
      )}
      {refusal.value && (
        <div
          class="small text-danger-emphasis mt-1"
          role="alert"
          data-testid="composer-refusal"
        >
          Not sent: {refusal.value}
        </div>
      )}
    </form>
  );
}

/**
 * Which of your messages the ChatRoom island edits in place: one at a time,
 * started from its actions or by Up in an empty composer. A Preact hook.
 *
 * @module
 */

import { type ReadonlySignal, useSignal } from "@preact/signals";
import type { RoomView } from "../lib/chat/client/room_client.ts";
import { DEFAULT_EDIT_WINDOW_MS } from "../lib/chat/events.ts";
import type { MessageEdit } from "./MessageList.tsx";

/** What {@link useMessageEditing} gives the island. */
export interface MessageEditing {
  /** For the message list: the message being edited, or `null`. */
  edit: MessageEdit | null;
  /** Edits message `seq`. */
  start: (seq: number) => void;
  /** Edits your last message still in the edit window; false when there is none. */
  editLast: () => boolean;
}

/**
 * In-place editing over the latest `view`; `save` sends the new text of a
 * message and is true when it was taken (editing then ends).
 *
 * @example
 * ```ts
 * const editing = useMessageEditing(view, (seq, text) =>
 *   client.act({ type: "edit", target: seq, text }));
 * ```
 */
export function useMessageEditing(
  view: ReadonlySignal<RoomView>,
  save: (seq: number, text: string) => boolean,
): MessageEditing {
  const editing = useSignal<number | null>(null);
  return {
    edit: editing.value === null ? null : {
      seq: editing.value,
      onSave: (text) => {
        const seq = editing.value!;
        if (save(seq, text)) {
          editing.value = null;
        }
      },
      onCancel: () => {
        editing.value = null;
        document.querySelector<HTMLTextAreaElement>(
          "#composer textarea",
        )?.focus();
      },
    },
    start(seq) {
      editing.value = seq;
    },
    editLast() {
      const now = Date.now();
      const last = view.value.messages.findLast((m) =>
        m.user.id === view.value.user.id && !m.deleted &&
        now - m.ts < DEFAULT_EDIT_WINDOW_MS
      );
      if (!last) return false;
      editing.value = last.seq;
      return true;
    },
  };
}

/**
 * Which of your messages the ChatRoom island edits in place: one at a time,
 * started from its actions or by Up in an empty composer. A Preact hook.
 *
 * @module
 */

import { type ReadonlySignal, useSignal } from "@preact/signals";
import type { RoomView } from "../lib/chat/client/room_client.ts";
import { mayEdit } from "../lib/chat/events.ts";
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
 * message and is true when it was taken (editing then ends). `editWindowMs`
 * is the server's (`EDIT_WINDOW_MINUTES`), so Up never opens an edit the
 * server would refuse.
 *
 * @example
 * ```ts
 * const editing = useMessageEditing(view, 15 * 60_000, (seq, text) =>
 *   client.act({ type: "edit", target: seq, text }));
 * ```
 */
export function useMessageEditing(
  view: ReadonlySignal<RoomView>,
  editWindowMs: number,
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
        mayEdit(m, view.value.user.id, now, editWindowMs)
      );
      if (!last) return false;
      editing.value = last.seq;
      return true;
    },
  };
}

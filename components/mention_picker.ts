/**
 * The composer's `@name` completion: follows the `@query` under the caret,
 * offers the people here, and handles the list's keys (arrows move, Enter or
 * Tab pick, Esc closes). A Preact hook; the composer renders the list
 * ({@link MentionList}) and owns the draft.
 *
 * @module
 */

import { useSignal } from "@preact/signals";
import {
  complete,
  type MentionQuery,
  mentionQueryAt,
  suggestions,
} from "../lib/web/mention_completion.ts";
import type { ChatUser } from "../lib/chat/types.ts";

/** The listbox's id (one composer per page). */
export const MENTION_LIST_ID = "mention-list";

/** An option's id, for `aria-activedescendant`. */
export function mentionOptionId(index: number): string {
  return `${MENTION_LIST_ID}-${index}`;
}

/** A draft with a name completed: the new text and where the caret goes. */
export interface Completed {
  text: string;
  caret: number;
}

/** What {@link useMentionPicker} gives the composer. */
export interface MentionPicker {
  /** Whether the list shows (an `@query` with a match it does not spell out already). */
  open: boolean;
  options: readonly ChatUser[];
  /** The highlighted option. */
  active: number;
  /** The draft or the caret moved. */
  update: (text: string, caret: number) => void;
  close: () => void;
  /** Picks option `index` in `text`. */
  pick: (index: number, text: string) => Completed | null;
  /**
   * Handles a key while the list is open: true when it was the list's (the
   * composer then does nothing else with it); `onPick` gets a completion.
   */
  onKeyDown: (
    event: KeyboardEvent,
    text: string,
    onPick: (done: Completed) => void,
  ) => boolean;
}

/**
 * Completion of `@name` among `people`, leaving out `meId`.
 *
 * @example
 * ```ts
 * const picker = useMentionPicker(presentUsers(presence), me.id);
 * // onInput: picker.update(box.value, box.selectionStart);
 * ```
 */
export function useMentionPicker(
  people: readonly ChatUser[],
  meId?: string,
): MentionPicker {
  const query = useSignal<MentionQuery | null>(null);
  const active = useSignal(0);
  const found = query.value ? suggestions(query.value.query, people, meId) : [];
  // A name typed out in full needs no list: Enter then sends.
  const typedOut = found.length === 1 &&
    found[0].name.toLocaleLowerCase() ===
      query.value?.query.toLocaleLowerCase();
  const options = typedOut ? [] : found;
  const open = options.length > 0;
  const current = Math.min(active.value, Math.max(options.length - 1, 0));

  const pick = (index: number, text: string): Completed | null => {
    const q = query.value;
    const person = options[index];
    if (!q || !person) return null;
    query.value = null;
    return complete(text, q, person.name);
  };

  return {
    open,
    options,
    active: current,
    update(text, caret) {
      const next = mentionQueryAt(text, caret);
      const prev = query.value;
      if (next?.start !== prev?.start || next?.query !== prev?.query) {
        query.value = next;
        if (next?.start !== prev?.start) active.value = 0;
      }
    },
    close() {
      query.value = null;
    },
    pick,
    onKeyDown(event, text, onPick) {
      if (!open || event.isComposing) return false;
      switch (event.key) {
        case "ArrowDown":
        case "ArrowUp": {
          const step = event.key === "ArrowDown" ? 1 : -1;
          active.value = (current + step + options.length) % options.length;
          break;
        }
        case "Enter":
        case "Tab": {
          if (event.shiftKey) return false;
          const done = pick(current, text);
          if (done) onPick(done);
          break;
        }
        case "Escape":
          query.value = null;
          break;
        default:
          return false;
      }
      event.preventDefault();
      return true;
    },
  };
}

import type { VNode } from "preact";
import { Avatar, Discriminator } from "./Identity.tsx";
import {
  MENTION_LIST_ID,
  mentionOptionId,
  type MentionPicker,
} from "./mention_picker.ts";

/**
 * The `@name` suggestions above the composer: a listbox whose highlighted
 * option the textarea names with `aria-activedescendant`. A press picks
 * without taking the focus from the textarea.
 */
export function MentionList(
  { picker, onPick }: {
    picker: MentionPicker;
    onPick: (index: number) => void;
  },
): VNode | null {
  if (!picker.open) return null;
  return (
    <ul
      id={MENTION_LIST_ID}
      class="mention-list list-unstyled mb-0 border rounded shadow-sm"
      role="listbox"
      aria-label="People to mention"
      data-testid="mention-list"
    >
      {picker.options.map((u, i) => (
        <li
          key={u.id}
          id={mentionOptionId(i)}
          role="option"
          aria-selected={i === picker.active}
          class={`mention-option d-flex align-items-center gap-2 px-2 py-1 ${
            i === picker.active ? "active" : ""
          }`}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => onPick(i)}
        >
          <Avatar id={u.id} name={u.name} picture={u.picture} />
          <span class="text-truncate">{u.name}</span>
          <Discriminator user={u} />
        </li>
      ))}
    </ul>
  );
}

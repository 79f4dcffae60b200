import type { VNode } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { presentUsers } from "../lib/chat/presence.ts";
import type { PresenceState } from "../lib/chat/types.ts";
import { Avatar, Discriminator, VerifiedMark } from "./Identity.tsx";

/**
 * Closes the `<details>` popover on Esc (focus goes back to its summary when
 * it was inside) and on a press anywhere outside it, as menus do.
 */
function useDismissable(ref: { current: HTMLDetailsElement | null }): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const el = ref.current;
      if (event.key !== "Escape" || !el?.open) return;
      const hadFocus = el.contains(document.activeElement);
      el.open = false;
      if (hadFocus) el.querySelector("summary")?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      const el = ref.current;
      if (el?.open && !el.contains(event.target as Node)) el.open = false;
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, []);
}

/** Who is here, collapsed to a count: one entry per person however many tabs they have open. */
export function PresenceList({ state }: { state: PresenceState }): VNode {
  const users = presentUsers(state);
  const details = useRef<HTMLDetailsElement>(null);
  useDismissable(details);
  return (
    <details class="presence" ref={details}>
      <summary
        class="btn btn-sm btn-outline-secondary py-0"
        data-testid="presence-count"
        title="Who is here"
      >
        <i class="bi bi-people-fill me-1" aria-hidden="true"></i>
        {users.length} here
      </summary>
      <ul
        class="list-unstyled presence-list mb-0"
        data-testid="presence-list"
        aria-label="People here"
      >
        {users.length === 0 && (
          <li class="text-body-secondary py-1">Nobody connected</li>
        )}
        {users.map((u) => (
          <li
            key={u.id}
            class="d-flex align-items-center gap-2 py-1"
            data-user={u.id}
          >
            <Avatar id={u.id} name={u.name} picture={u.picture} />
            <span class="text-truncate">{u.name}</span>
            <Discriminator user={u} />
            {u.kind === "google" && <VerifiedMark />}
          </li>
        ))}
      </ul>
    </details>
  );
}

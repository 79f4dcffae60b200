import type { VNode } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { presentUsers } from "../lib/chat/presence.ts";
import type { ChatUser, PresenceState } from "../lib/chat/types.ts";
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

/**
 * "Message": a plain form (works without JS, CSRF-checked by its Origin) that
 * opens the direct conversation with `user` and lands in it.
 */
function MessageButton({ user }: { user: ChatUser }): VNode {
  return (
    <form method="post" action="/api/dms" class="ms-auto">
      <input type="hidden" name="with" value={user.id} />
      <button
        type="submit"
        class="btn btn-sm btn-outline-primary py-0"
        aria-label={`Message ${user.name}`}
        data-testid="message-person"
      >
        <i class="bi bi-chat-left-text me-1" aria-hidden="true"></i>Message
      </button>
    </form>
  );
}

/**
 * Who is here, collapsed to a count: one entry per person however many tabs
 * they have open. Given `me`, a signed-in (Google) person gets "Message" by
 * everyone else signed in with Google; a guest is told why they have none.
 */
export function PresenceList(
  { state, me }: { state: PresenceState; me?: ChatUser },
): VNode {
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
      <div class="presence-list">
        <ul
          class="list-unstyled mb-0"
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
              {me?.kind === "google" && u.kind === "google" && u.id !== me.id &&
                <MessageButton user={u} />}
            </li>
          ))}
        </ul>
        {me?.kind === "guest" && users.length > 1 && (
          <p
            class="small text-body-secondary pt-1 mb-0"
            data-testid="dm-guests"
          >
            Sign in with Google to message people: a guest's name lasts only as
            long as this browser's session, so a conversation could not be found
            again.
          </p>
        )}
      </div>
    </details>
  );
}

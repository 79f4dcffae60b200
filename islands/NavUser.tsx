import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useMemo } from "preact/hooks";
import { Avatar } from "../components/Identity.tsx";
import { openSessionChannel } from "../lib/chat/client/session_channel.ts";
import type { ChatUser } from "../lib/chat/types.ts";

/** What the navbar renders the island with. */
export interface NavUserProps {
  /** Who the page was rendered for. */
  user: ChatUser | null;
  /** The page's path: sign-out comes back here. */
  path: string;
}

/**
 * The navbar's signed-in user and sign-out button. Without JavaScript the
 * button is a plain form post. Hydrated, it follows the session live: a
 * sign-in or sign-out in this page or another tab shows here at once; its
 * own sign-out tells the other tabs, then reloads the page signed out.
 */
export default function NavUser({ user: initial, path }: NavUserProps) {
  const user = useSignal(initial);
  const error = useSignal<string | null>(null);
  const channel = useMemo(() => openSessionChannel(), []);

  useEffect(() =>
    channel.subscribe((event) => {
      switch (event.type) {
        case "signed-in":
          user.value = event.user;
          return;
        case "signed-out":
          user.value = null;
          return;
        default: {
          const _exhaustive: never = event;
          return;
        }
      }
    }), []);

  const signOut = async (event: JSX.TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    error.value = null;
    try {
      const res = await fetch("/api/session/signout", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`sign-out answered ${res.status}`);
    } catch {
      error.value = "Could not sign out: the server cannot be reached.";
      return;
    }
    channel.post({ type: "signed-out" });
    location.assign(path);
  };

  const me = user.value;
  if (!me) return null;
  return (
    <div class="navbar-user d-flex align-items-center gap-2">
      <Avatar id={me.id} name={me.name} picture={me.picture} />
      <span
        class="navbar-text text-truncate user-name"
        data-testid="user-name"
      >
        {me.name}
      </span>
      <form
        method="post"
        action="/api/session/signout"
        class="m-0"
        onSubmit={signOut}
      >
        <input type="hidden" name="next" value={path} />
        <button
          type="submit"
          class="btn btn-outline-secondary btn-sm text-nowrap"
          aria-label="Sign out"
          title="Sign out"
        >
          <i class="bi bi-box-arrow-right" aria-hidden="true"></i>
          <span class="d-none d-sm-inline ms-1">Sign out</span>
        </button>
      </form>
      {error.value && (
        <span class="small text-danger text-truncate" role="alert">
          {error.value}
        </span>
      )}
    </div>
  );
}

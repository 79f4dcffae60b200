import type { VNode } from "preact";
import type { ChatUser } from "../lib/chat/types.ts";
import NavUser from "../islands/NavUser.tsx";
import NavMessages from "../islands/NavMessages.tsx";

/**
 * The top bar: brand, for people signed in with Google a link to their
 * direct messages with the unread count ({@link NavMessages}), and the
 * signed-in user with a sign-out button (a plain form: works without JS; the
 * {@link NavUser} island keeps it current).
 */
export function Navbar(
  { user, path }: { user: ChatUser | null; path: string },
): VNode {
  return (
    <nav class="navbar navbar-expand bg-body-tertiary border-bottom">
      <div class="container-fluid">
        <a class="navbar-brand fw-semibold" href="/">
          <i class="bi bi-chat-dots-fill text-primary me-2" aria-hidden="true">
          </i>Roomcast
        </a>
        {user?.kind === "google" && <NavMessages />}
        <NavUser user={user} path={path} />
      </div>
    </nav>
  );
}

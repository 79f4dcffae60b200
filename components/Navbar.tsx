import type { VNode } from "preact";
import type { ChatUser } from "../lib/chat/types.ts";
import { Avatar } from "./MessageList.tsx";

/** The top bar: brand, and the signed-in user with a sign-out button (a plain form: works without JS). */
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
        {user && (
          <div class="navbar-user d-flex align-items-center gap-2">
            <Avatar name={user.name} picture={user.picture} />
            <span
              class="navbar-text text-truncate user-name"
              data-testid="user-name"
            >
              {user.name}
            </span>
            <form method="post" action="/api/session/signout" class="m-0">
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
          </div>
        )}
      </div>
    </nav>
  );
}

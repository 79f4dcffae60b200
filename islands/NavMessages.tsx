import { useSignal } from "@preact/signals";
import { UnreadBadge } from "../components/UnreadBadge.tsx";
import { useVisiblePolling } from "../components/visible_polling.ts";

/** How often the count refreshes while the tab is visible. */
const NAV_UNREAD_REFRESH_MS = 10_000;

/**
 * The navbar's link to your direct conversations (the lobby's list) with
 * the number of unread entries across them, refreshed while the tab is
 * visible. Rendered for people signed in with Google (only they have
 * conversations); it hides itself once the session ends.
 */
export default function NavMessages() {
  const unread = useSignal(0);
  const signedIn = useSignal(true);

  useVisiblePolling("/api/dms", NAV_UNREAD_REFRESH_MS, async (res) => {
    if (res.status === 401) {
      signedIn.value = false;
      return;
    }
    if (!res.ok) return;
    const { conversations } = await res.json() as {
      conversations: { unread: number }[];
    };
    unread.value = conversations.reduce((n, c) => n + c.unread, 0);
  }, { atOnce: true });

  if (!signedIn.value) return null;
  return (
    <a
      href="/#direct-messages"
      class="btn btn-sm btn-outline-secondary ms-auto me-2"
      data-testid="nav-messages"
    >
      <i class="bi bi-chat-left-text me-1" aria-hidden="true"></i>
      Messages
      <UnreadBadge count={unread.value} testId="nav-unread" class="ms-1" />
    </a>
  );
}

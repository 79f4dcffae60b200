import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";

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

  useEffect(() => {
    let stopped = false;
    const refresh = async () => {
      if (document.hidden) return;
      try {
        const res = await fetch("/api/dms", {
          headers: { accept: "application/json" },
        });
        if (stopped) return;
        if (res.status === 401) {
          signedIn.value = false;
          return;
        }
        if (!res.ok) return;
        const { conversations } = await res.json() as {
          conversations: { unread: number }[];
        };
        unread.value = conversations.reduce((n, c) => n + c.unread, 0);
      } catch { /* offline: keep the last count */ }
    };
    refresh();
    const timer = setInterval(refresh, NAV_UNREAD_REFRESH_MS);
    document.addEventListener("visibilitychange", refresh);
    return () => {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", refresh);
    };
  }, []);

  if (!signedIn.value) return null;
  return (
    <a
      href="/#direct-messages"
      class="btn btn-sm btn-outline-secondary ms-auto me-2"
      data-testid="nav-messages"
    >
      <i class="bi bi-chat-left-text me-1" aria-hidden="true"></i>
      Messages
      {unread.value > 0 && (
        <span
          class="badge rounded-pill text-bg-primary ms-1"
          data-testid="nav-unread"
        >
          {unread.value}
          <span class="visually-hidden">&nbsp;unread</span>
        </span>
      )}
    </a>
  );
}

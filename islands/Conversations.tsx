import { useSignal } from "@preact/signals";
import { UnreadBadge } from "../components/UnreadBadge.tsx";
import { useVisiblePolling } from "../components/visible_polling.ts";

/** One direct conversation as `GET /api/dms` lists it. */
export interface ConversationItem {
  room: string;
  with: { id: string; name: string };
  unread: number;
  lastTs: number;
}

export interface ConversationsProps {
  conversations: ConversationItem[];
}

/** How often the list refreshes while the tab is visible (as the lobby's rooms). */
const CONVERSATIONS_REFRESH_MS = 5_000;

/**
 * Your direct conversations, newest first, each with its unread count,
 * refreshed while the tab is visible.
 */
export default function Conversations(
  { conversations: initial }: ConversationsProps,
) {
  const list = useSignal(initial);

  useVisiblePolling("/api/dms", CONVERSATIONS_REFRESH_MS, async (res) => {
    if (res.ok) list.value = (await res.json()).conversations;
  });

  if (list.value.length === 0) {
    return (
      <p class="text-body-secondary" data-testid="no-conversations">
        No conversations yet. Open a room and choose "Message" by someone's name
        in the list of who is here.
      </p>
    );
  }
  return (
    <ul class="list-group mb-4" data-testid="conversations">
      {list.value.map((c) => (
        <li
          key={c.room}
          class="list-group-item d-flex justify-content-between align-items-center gap-2"
          data-room={c.room}
        >
          <a
            href={`/chat/${c.room}`}
            class="stretched-link text-decoration-none text-truncate"
          >
            <i class="bi bi-person-fill me-2" aria-hidden="true"></i>
            {c.with.name}
          </a>
          <UnreadBadge count={c.unread} testId="unread" />
        </li>
      ))}
    </ul>
  );
}

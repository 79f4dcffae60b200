import { useSignal } from "@preact/signals";
import { useVisiblePolling } from "../components/visible_polling.ts";
import type { LobbyRoom } from "../lib/chat/types.ts";

export interface RoomListProps {
  rooms: LobbyRoom[];
}

/** How often the lobby refreshes its snapshot while visible. */
const LOBBY_REFRESH_MS = 5_000;

function ago(ts: number, now: number): string {
  if (!ts) return "no messages yet";
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** The lobby's rooms, most active first, refreshed live while the tab is visible. */
export default function RoomList({ rooms: initial }: RoomListProps) {
  const rooms = useSignal(initial);
  const now = useSignal(Date.now());

  useVisiblePolling("/api/rooms", LOBBY_REFRESH_MS, async (res) => {
    if (!res.ok) return;
    rooms.value = (await res.json()).rooms;
    now.value = Date.now();
  });

  if (rooms.value.length === 0) {
    return <p class="text-body-secondary">No rooms yet. Start one above.</p>;
  }
  return (
    <ul class="list-group room-list" data-testid="room-list">
      {rooms.value.map((r) => (
        <li
          key={r.room}
          class="list-group-item d-flex justify-content-between align-items-center gap-2"
          data-room={r.room}
        >
          <a
            href={`/chat/${r.room}`}
            class="stretched-link text-decoration-none text-truncate"
          >
            #{r.room}
          </a>
          <span class="d-flex align-items-center gap-2 flex-shrink-0 small">
            <span class="text-body-secondary">{ago(r.lastTs, now.value)}</span>
            <span
              class={`badge ${
                r.online > 0 ? "text-bg-success" : "text-bg-secondary"
              }`}
              data-testid="online"
              title="people here now"
            >
              <i class="bi bi-people-fill me-1" aria-hidden="true"></i>
              {r.online}
              <span class="visually-hidden">&nbsp;here now</span>
            </span>
          </span>
        </li>
      ))}
    </ul>
  );
}

import type { VNode } from "preact";
import type { RoomView } from "../lib/chat/client/room_client.ts";
import { moderates } from "../lib/chat/protocol.ts";
import { isDirectRoom } from "../lib/chat/names.ts";

/**
 * The room's title and topic, slow mode when on, and — for its owner and
 * moderators — the button that opens the room panel, with the count of open
 * reports; a signed-in person in an ownerless room may claim it.
 */
export function RoomHeader(
  { view, onManage, onClaim }: {
    view: RoomView;
    onManage: () => void;
    onClaim: () => void;
  },
): VNode | null {
  const info = view.room;
  if (!info) return null;
  const { title, topic, slowModeSeconds } = info.settings;
  const staff = moderates(view.standing.role);
  // A direct conversation has no owner, for good.
  const claimable = info.owner === null && view.user.kind === "google" &&
    !isDirectRoom(info.room);
  if (!title && !topic && !slowModeSeconds && !staff && !claimable) return null;
  return (
    <div
      class="room-header d-flex flex-wrap align-items-center gap-2 px-3 py-1 border-bottom small"
      data-testid="room-header"
    >
      {title && <strong class="room-title">{title}</strong>}
      {topic && <span class="room-topic text-body-secondary">{topic}</span>}
      {slowModeSeconds > 0 && (
        <span class="badge text-bg-secondary">
          Slow mode: {slowModeSeconds} s
        </span>
      )}
      <span class="ms-auto"></span>
      {claimable && (
        <button
          type="button"
          class="btn btn-outline-primary btn-sm py-0"
          onClick={onClaim}
        >
          Claim this room
        </button>
      )}
      {staff && (
        <button
          type="button"
          class="btn btn-outline-secondary btn-sm py-0"
          onClick={onManage}
          data-testid="manage-room"
          aria-haspopup="dialog"
        >
          <i class="bi bi-shield-lock me-1" aria-hidden="true"></i>
          Manage room
          {view.reports > 0 && (
            <span
              class="badge text-bg-danger ms-1"
              data-testid="reports-badge"
            >
              {view.reports}
              <span class="visually-hidden">
                {view.reports === 1 ? " open report" : " open reports"}
              </span>
            </span>
          )}
        </button>
      )}
    </div>
  );
}

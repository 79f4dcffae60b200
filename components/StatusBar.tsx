import type { VNode } from "preact";
import type { RoomStatus } from "../lib/chat/client/room_client.ts";
import type { ChatUser, PresenceState } from "../lib/chat/types.ts";
import { PresenceList } from "./PresenceList.tsx";

/** The badge's text and colour for each status. */
const STATUS_LABEL: Record<RoomStatus, [string, string]> = {
  connecting: ["Connecting…", "text-bg-secondary"],
  live: ["Live", "text-bg-success"],
  reconnecting: ["Reconnecting…", "text-bg-warning"],
  offline: ["Offline", "text-bg-secondary"],
  "signed-out": ["Signed out", "text-bg-danger"],
  kicked: ["Removed", "text-bg-danger"],
  banned: ["Banned", "text-bg-danger"],
  "no-access": ["Members only", "text-bg-danger"],
};

interface StatusBarProps {
  status: RoomStatus;
  presence: PresenceState;
  /** Who this is: the presence list offers direct messages to signed-in people. */
  me?: ChatUser;
  /** Whether joins and leaves show in the conversation. */
  showJoins: boolean;
  onToggleJoins: () => void;
  /** The latest "Ana joined" line, if any. */
  activity: string | null;
  /** Whether to offer mention notifications (the browser has them, not yet granted). */
  offerNotifications: boolean;
  onEnableNotifications: () => void;
}

/** The bar above the messages: connection status, who is here, recent joins and leaves. */
export function StatusBar(props: StatusBarProps): VNode {
  const [label, badge] = STATUS_LABEL[props.status];
  return (
    <div class="room-status px-3 py-1 d-flex align-items-center gap-2 small">
      <span
        class={`badge ${badge}`}
        data-testid="status"
        data-status={props.status}
        role="status"
      >
        {label}
      </span>
      <PresenceList state={props.presence} me={props.me} />
      <button
        type="button"
        class="btn btn-link btn-sm p-0 text-body-secondary"
        aria-pressed={props.showJoins}
        title="Show who joins and leaves in the conversation"
        data-testid="toggle-joins"
        onClick={props.onToggleJoins}
      >
        <i
          class={`bi ${props.showJoins ? "bi-eye" : "bi-eye-slash"}`}
          aria-hidden="true"
        >
        </i>
        <span class="d-none d-md-inline ms-1">Joins &amp; leaves</span>
      </button>
      {props.activity && (
        <span class="text-body-secondary text-truncate" data-testid="activity">
          {props.activity}
        </span>
      )}
      {props.offerNotifications && (
        <button
          type="button"
          class="btn btn-link btn-sm ms-auto p-0"
          onClick={props.onEnableNotifications}
          aria-label="Notify me of mentions"
          title="Notify me of mentions"
        >
          <i class="bi bi-bell" aria-hidden="true"></i>
          <span class="d-none d-sm-inline ms-1">Notify me of mentions</span>
        </button>
      )}
    </div>
  );
}

import type { VNode } from "preact";
import type { StandingView } from "../lib/chat/protocol.ts";
import { untilLabel } from "./room_admin_api.ts";

/**
 * In place of the composer while a moderator has muted this person: why,
 * and until when (in the viewer's time). They can still read.
 */
export function MutedNotice(
  { mute }: { mute: NonNullable<StandingView["mute"]> },
): VNode {
  return (
    <div
      class="composer muted-notice border-top p-3"
      role="status"
      data-testid="muted"
    >
      <p class="mb-0">
        <i class="bi bi-mic-mute me-1" aria-hidden="true"></i>
        <strong>A moderator muted you in this room</strong>{" "}
        <span data-testid="muted-until">{untilLabel(mute.until)}</span>.
      </p>
      <p class="small text-body-secondary mb-0">
        {mute.reason ? `Reason: ${mute.reason}. ` : ""}You can still read.
      </p>
    </div>
  );
}

import type { VNode } from "preact";
import { presentUsers } from "../lib/chat/presence.ts";
import type { PresenceState } from "../lib/chat/types.ts";
import { Avatar } from "./MessageList.tsx";

/** Who is here, collapsed to a count: one entry per person however many tabs they have open. */
export function PresenceList({ state }: { state: PresenceState }): VNode {
  const users = presentUsers(state);
  return (
    <details class="presence">
      <summary
        class="btn btn-sm btn-outline-secondary py-0"
        data-testid="presence-count"
      >
        <i class="bi bi-people-fill me-1" aria-hidden="true"></i>
        {users.length} here
      </summary>
      <ul class="list-unstyled presence-list mb-0" data-testid="presence-list">
        {users.map((u) => (
          <li
            key={u.id}
            class="d-flex align-items-center gap-2 py-1"
            data-user={u.id}
          >
            <Avatar name={u.name} picture={u.picture} />
            <span class="text-truncate">{u.name}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

import type { VNode } from "preact";
import { colorIndex, discriminator } from "../lib/web/identity.ts";
import type { ChatUser } from "../lib/chat/types.ts";

function initials(name: string): string {
  return name.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 2)
    .toUpperCase();
}

/** Number of avatar colour classes in app.css (`avatar-c0` …). */
const AVATAR_COLORS = 6;

/**
 * A small round picture, or the initials on a colour derived from the id
 * (classes, not inline styles: the CSP forbids those), so namesakes differ.
 */
export function Avatar(
  { id, name, picture }: { id: string; name: string; picture?: string },
): VNode {
  return picture
    ? <img class="avatar" src={picture} alt="" referrerpolicy="no-referrer" />
    : (
      <span
        class={`avatar avatar-initials avatar-c${
          colorIndex(id, AVATAR_COLORS)
        }`}
        aria-hidden="true"
      >
        {initials(name)}
      </span>
    );
}

/** The mark of a Google account (its identity is Google's, not self-chosen). */
export function VerifiedMark(): VNode {
  return (
    <span
      class="bi bi-patch-check-fill verified-mark"
      role="img"
      aria-label="Verified Google account"
      title="Verified Google account"
    >
    </span>
  );
}

/**
 * The short tag after a name that tells namesakes apart ("· 4f2"). Text, not
 * an attribute: a name is never copied into one.
 */
export function Discriminator(
  { user, onHover = false }: { user: ChatUser; onHover?: boolean },
): VNode {
  return (
    <span
      class={`discriminator ${onHover ? "on-hover" : ""}`}
      data-testid="discriminator"
    >
      · {discriminator(user.id)}
    </span>
  );
}

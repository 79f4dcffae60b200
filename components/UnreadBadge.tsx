import type { VNode } from "preact";

/** The largest count the pill shows as a number. */
const MAX_SHOWN = 99;

/**
 * A count of unread messages as a pill, read out as "N unread"; "99+" past
 * 99; nothing when there are none.
 *
 * @example
 * ```tsx
 * <UnreadBadge count={3} testId="unread" />
 * ```
 */
export function UnreadBadge(
  { count, testId, class: extra = "" }: {
    count: number;
    testId: string;
    class?: string;
  },
): VNode | null {
  if (count <= 0) return null;
  return (
    <span
      class={`badge rounded-pill text-bg-primary ${extra}`.trim()}
      data-testid={testId}
    >
      {count > MAX_SHOWN ? `${MAX_SHOWN}+` : count}
      <span class="visually-hidden">&nbsp;unread</span>
    </span>
  );
}

import type { VNode } from "preact";

/**
 * A count of unread entries as a pill, read out as "N unread"; nothing when
 * there are none.
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
      {count}
      <span class="visually-hidden">&nbsp;unread</span>
    </span>
  );
}

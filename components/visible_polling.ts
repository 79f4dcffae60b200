/**
 * A Preact hook for islands that keep a server list current: the lobby's
 * rooms, your conversations, the navbar's unread count.
 *
 * @module
 */

import { useEffect } from "preact/hooks";

/**
 * Asks `url` (JSON) every `everyMs` while the tab is visible, and again as
 * it becomes visible, handing each response to `handle` (not after
 * unmount). Offline, nothing changes: the last answer stays shown.
 *
 * @example
 * ```ts
 * useVisiblePolling("/api/rooms", 2_000, async (res) => {
 *   if (res.ok) rooms.value = (await res.json()).rooms;
 * });
 * ```
 */
export function useVisiblePolling(
  url: string,
  everyMs: number,
  handle: (res: Response) => Promise<void>,
  { atOnce = false }: { atOnce?: boolean } = {},
): void {
  useEffect(() => {
    let stopped = false;
    const refresh = async () => {
      if (document.hidden) return;
      try {
        const res = await fetch(url, {
          headers: { accept: "application/json" },
        });
        if (stopped) await res.body?.cancel();
        else await handle(res);
      } catch { /* offline: keep what is shown */ }
    };
    if (atOnce) refresh();
    const timer = setInterval(refresh, everyMs);
    document.addEventListener("visibilitychange", refresh);
    return () => {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", refresh);
    };
  }, []);
}

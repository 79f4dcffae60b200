import { useEffect, useRef } from "preact/hooks";
import { isDirectRoom } from "../lib/chat/names.ts";
import type { ChatMessage } from "../lib/chat/types.ts";
import { CSRF_HEADER } from "../lib/shared.ts";

/** Wait after the last change before telling the server (a burst is one write). */
const READ_MARK_DELAY_MS = 500;

/**
 * The newest `seq` these messages account for: the last message's, or a
 * later event folded into any of them (its `rev`).
 *
 * @example
 * ```ts
 * seenSeq([{ seq: 3 }, { seq: 4, rev: 6 }]); // 6
 * ```
 */
export function seenSeq(
  messages: readonly Pick<ChatMessage, "seq" | "rev">[],
): number {
  let seen = 0;
  for (const m of messages) seen = Math.max(seen, m.rev ?? m.seq);
  return seen;
}

/**
 * In a direct conversation, tells the server how far this person has read
 * (`POST /api/dms/:room/read`) whenever newer messages are on screen while
 * the tab is visible, so the lobby's unread counts go down. Best-effort: a
 * failed write is tried again with the next change.
 */
export function useReadMarker(
  room: string,
  messages: readonly ChatMessage[],
): void {
  const sent = useRef(0);
  const latest = useRef(0);
  latest.current = seenSeq(messages);
  useEffect(() => {
    if (!isDirectRoom(room)) return;
    const flush = () => {
      const seq = latest.current;
      if (document.hidden || seq <= sent.current) return;
      sent.current = seq;
      fetch(`/api/dms/${room}/read`, {
        method: "POST",
        headers: { "content-type": "application/json", [CSRF_HEADER]: "1" },
        body: JSON.stringify({ seq }),
      }).then((res) => {
        if (!res.ok) sent.current = 0;
      }).catch(() => (sent.current = 0));
    };
    const timer = setTimeout(flush, READ_MARK_DELAY_MS);
    document.addEventListener("visibilitychange", flush);
    return () => {
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", flush);
    };
  }, [room, latest.current]);
}

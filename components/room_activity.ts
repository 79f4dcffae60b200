/**
 * Joins and leaves as the ChatRoom island shows them: the latest line in the
 * status bar, and each line in the conversation unless the reader turned
 * that off (remembered in `localStorage`). A Preact hook.
 *
 * @module
 */

import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { StreamEvent } from "./MessageList.tsx";

/** Where the "joins & leaves in the stream" setting is kept (on by default). */
const SHOW_JOINS_KEY = "roomcast:show-joins";
/** Join/leave lines kept in the stream: enough for a session, bounded for a long one. */
const MAX_STREAM_EVENTS = 100;
/** How long the latest line stays in the toolbar: long enough to read, short enough not to linger. */
export const ACTIVITY_SHOWN_MS = 5_000;

/** What {@link useRoomActivity} gives the island. */
export interface RoomActivity {
  /** The latest line, for the status bar, until {@link ACTIVITY_SHOWN_MS} after it came. */
  latest: string | null;
  /** Lines to place among the messages (none when turned off). */
  events: readonly StreamEvent[];
  showJoins: boolean;
  toggleJoins: () => void;
  /** A line arrived (`at`: ms since the epoch). */
  add: (text: string, at: number) => void;
}

/**
 * Join/leave lines and the setting that shows them in the conversation.
 *
 * @example
 * ```ts
 * const activity = useRoomActivity();
 * client.subscribe((e) => e.type === "activity" && activity.add(e.text, e.at));
 * ```
 */
export function useRoomActivity(): RoomActivity {
  const latest = useSignal<string | null>(null);
  const events = useSignal<readonly StreamEvent[]>([]);
  const showJoins = useSignal(true);
  const fade = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(fade.current), []);

  useEffect(() => {
    try {
      showJoins.value = localStorage.getItem(SHOW_JOINS_KEY) !== "off";
    } catch { /* storage disabled: on by default */ }
  }, []);

  return {
    latest: latest.value,
    events: showJoins.value ? events.value : [],
    showJoins: showJoins.value,
    toggleJoins() {
      showJoins.value = !showJoins.value;
      try {
        localStorage.setItem(SHOW_JOINS_KEY, showJoins.value ? "on" : "off");
      } catch { /* storage disabled: the setting lasts for this page */ }
    },
    add(text, at) {
      latest.value = text;
      clearTimeout(fade.current);
      fade.current = setTimeout(
        () => (latest.value = null),
        ACTIVITY_SHOWN_MS,
      );
      const event = { id: crypto.randomUUID(), ts: at, text };
      events.value = [...events.value, event].slice(-MAX_STREAM_EVENTS);
    },
  };
}

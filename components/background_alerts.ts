/**
 * What a room does while its tab is in the background: counts new messages in
 * the title, remembers where they start (for the "New messages" divider) and,
 * once allowed, notifies of mentions. A Preact hook for the ChatRoom island.
 *
 * @module
 */

import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { mentions } from "../lib/chat/mentions.ts";
import type { ChatMessage, ChatUser } from "../lib/chat/types.ts";

/** Longest message excerpt shown in a notification. */
const NOTIFICATION_BODY_CHARS = 140;

/** The state and actions {@link useBackgroundAlerts} gives the island. */
export interface BackgroundAlerts {
  /** Seq of the first message that arrived while hidden (the divider goes above it). */
  unreadFrom: number | null;
  /** Whether the browser offers notifications and they are not on yet. */
  offerNotifications: boolean;
  /** Asks the browser's permission to notify of mentions. */
  enableNotifications: () => Promise<void>;
  /** Someone else's message arrived. */
  incoming: (message: ChatMessage) => void;
}

/**
 * Title counter, unread divider and mention notifications for `me` in `room`.
 *
 * @example
 * ```ts
 * const alerts = useBackgroundAlerts(room, user);
 * client.subscribe((e) => e.type === "incoming" && alerts.incoming(e.message));
 * ```
 */
export function useBackgroundAlerts(
  room: string,
  me: ChatUser,
): BackgroundAlerts {
  const unreadFrom = useSignal<number | null>(null);
  const hiddenUnread = useRef(0);
  const notifyMentions = useSignal(false);
  const hydrated = useSignal(false);
  const baseTitle = useRef("");

  useEffect(() => {
    hydrated.value = true;
    baseTitle.current = document.title;
    const onVisibility = () => {
      if (document.hidden) return;
      document.title = baseTitle.current;
      hiddenUnread.current = 0;
    };
    document.addEventListener("visibilitychange", onVisibility);
    return () => document.removeEventListener("visibilitychange", onVisibility);
  }, []);

  return {
    unreadFrom: unreadFrom.value,
    // Only after hydration: the server's rendering has no Notification to ask.
    offerNotifications: hydrated.value &&
      typeof Notification !== "undefined" && !notifyMentions.value,
    async enableNotifications() {
      if (typeof Notification === "undefined") return;
      notifyMentions.value =
        (await Notification.requestPermission()) === "granted";
    },
    incoming(message) {
      if (!document.hidden) return;
      if (hiddenUnread.current === 0) unreadFrom.value = message.seq;
      hiddenUnread.current++;
      document.title = `(${hiddenUnread.current}) ${baseTitle.current}`;
      if (notifyMentions.value && mentions(message.text, me.name)) {
        try {
          new Notification(`${message.user.name} in #${room}`, {
            body: message.text.slice(0, NOTIFICATION_BODY_CHARS),
            tag: `roomcast-${room}`,
          });
        } catch { /* notifications unavailable */ }
      }
    },
  };
}

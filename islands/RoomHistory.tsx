import { useSignal } from "@preact/signals";
import { useLayoutEffect, useRef } from "preact/hooks";
import { MessageList } from "../components/MessageList.tsx";
import type { ChatMessage } from "../lib/chat/types.ts";

/** What the signed-out room page renders the island with. */
export interface RoomHistoryProps {
  room: string;
  /** Recent messages, oldest first. */
  messages: ChatMessage[];
}

/**
 * A room's recent messages for a visitor who is not signed in: rendered on
 * the server in UTC, then in the reader's time zone, and opened at the newest
 * message, as the live room is.
 */
export default function RoomHistory({ room, messages }: RoomHistoryProps) {
  const localTime = useSignal(false);
  const scroller = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    localTime.value = true;
  }, []);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [localTime.value]);
  return (
    <div
      class="message-scroller"
      role="log"
      aria-label="Messages"
      tabIndex={0}
      ref={scroller}
    >
      <MessageList
        messages={messages}
        localTime={localTime.value}
        empty={`Nothing here yet: sign in to write the first message in #${room}.`}
      />
    </div>
  );
}

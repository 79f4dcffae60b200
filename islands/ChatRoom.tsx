import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useMemo, useRef } from "preact/hooks";
import { useBackgroundAlerts } from "../components/background_alerts.ts";
import { Composer } from "../components/Composer.tsx";
import { MessageList } from "../components/MessageList.tsx";
import { useRoomActivity } from "../components/room_activity.ts";
import { StatusBar } from "../components/StatusBar.tsx";
import {
  browserDependencies,
  roomSocketPath,
} from "../lib/chat/client/dependencies.ts";
import { RoomClient } from "../lib/chat/client/room_client.ts";
import { typingLabel } from "../lib/chat/presence.ts";
import type { ChatMessage, ChatUser } from "../lib/chat/types.ts";
import SignIn from "./SignIn.tsx";

/** What the room page renders the island with. */
export interface ChatRoomProps {
  room: string;
  user: ChatUser;
  /** Recent messages rendered on the server. */
  history: ChatMessage[];
  /** Whether older messages exist. */
  hasMore: boolean;
  /** False for a guest when only signed-in users may post. */
  canPost: boolean;
  /** Offered to a guest who may not post. */
  googleClientId: string | null;
}

/** Pixels from the bottom within which new messages keep the view pinned. */
const STICK_THRESHOLD_PX = 80;
/** Scrolled this close to the top, the next page of older messages loads. */
const LOAD_OLDER_THRESHOLD_PX = 40;

/**
 * The live room: renders what its {@link RoomClient} knows (connection,
 * messages, pending messages, presence, typing) and keeps the view pinned to
 * the newest message unless the reader scrolled up.
 */
export default function ChatRoom(
  { room, user, history, hasMore, canPost, googleClientId }: ChatRoomProps,
) {
  const client = useMemo(
    () =>
      new RoomClient(
        { room, url: roomSocketPath(room), user, history, hasMore },
        browserDependencies(),
      ),
    [],
  );
  const view = useSignal(client.view);
  const unseen = useSignal(0);
  const localTime = useSignal(false);
  const activity = useRoomActivity();
  const alerts = useBackgroundAlerts(room, user);

  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const keepOffset = useRef<number | null>(null);

  const nearBottom = () => {
    const el = scroller.current;
    return !el ||
      el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
  };

  useEffect(() => {
    localTime.value = true;
    const unsubscribe = client.subscribe((event) => {
      switch (event.type) {
        case "change": {
          // Measured before the new messages render.
          const change = event.timeline;
          if (change?.direction === "newer") {
            stick.current = nearBottom() || change.mine;
            if (!stick.current) unseen.value += change.added;
          } else if (change?.direction === "older") {
            const el = scroller.current;
            keepOffset.current = el ? el.scrollHeight - el.scrollTop : null;
          }
          view.value = event.view;
          return;
        }
        case "incoming":
          alerts.incoming(event.message);
          return;
        case "activity":
          activity.add(event.text, event.at);
          return;
        default: {
          const _exhaustive: never = event;
          return;
        }
      }
    });
    client.start();
    return () => {
      unsubscribe();
      client.stop();
    };
  }, []);

  const { messages, pending } = view.value;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages, pending]);

  const send = (text: string) => {
    const sent = client.post(text);
    // Your own message brings you to it.
    if (sent) stick.current = true;
    return sent;
  };

  const onScroll = () => {
    if (nearBottom()) unseen.value = 0;
    const el = scroller.current;
    if (
      el && el.scrollTop < LOAD_OLDER_THRESHOLD_PX && view.value.olderAvailable
    ) client.loadOlder();
  };

  const jumpToLatest = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    unseen.value = 0;
  };

  const { status, presence, typing, notice } = view.value;
  return (
    <div class="room-body">
      <StatusBar
        status={status}
        presence={presence}
        showJoins={activity.showJoins}
        onToggleJoins={activity.toggleJoins}
        activity={activity.latest}
        offerNotifications={alerts.offerNotifications}
        onEnableNotifications={alerts.enableNotifications}
      />
      <div class="message-scroller" ref={scroller} onScroll={onScroll}>
        {view.value.olderAvailable && (
          <div class="text-center my-2">
            <button
              type="button"
              class="btn btn-sm btn-outline-secondary"
              onClick={() => client.loadOlder()}
              disabled={view.value.loadingOlder}
            >
              Load older
            </button>
          </div>
        )}
        <div role="log" aria-live="polite" aria-label="Messages">
          <MessageList
            messages={messages}
            pending={pending}
            meId={user.id}
            meName={user.name}
            localTime={localTime.value}
            unreadFrom={alerts.unreadFrom}
            events={activity.events}
          />
        </div>
      </div>
      {unseen.value > 0 && (
        <button
          type="button"
          class="btn btn-primary btn-sm jump-latest"
          onClick={jumpToLatest}
        >
          {unseen.value} new <i class="bi bi-arrow-down" aria-hidden="true"></i>
        </button>
      )}
      <div
        class="typing-line px-3 small text-body-secondary"
        aria-live="polite"
        data-testid="typing"
      >
        {typingLabel(typing)}
      </div>
      {notice && (
        <div
          class="room-notice alert alert-warning small mx-2 mb-2 py-1 px-3"
          role="alert"
        >
          {notice}
        </div>
      )}
      {canPost
        ? (
          <Composer
            room={room}
            onType={(draft) => client.typed(draft)}
            onSend={send}
          />
        )
        : (
          <div class="composer border-top p-3">
            <SignIn
              next={`/chat/${room}`}
              allowGuests={false}
              googleClientId={googleClientId}
            />
          </div>
        )}
    </div>
  );
}

import { useSignal } from "@preact/signals";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { useBackgroundAlerts } from "../components/background_alerts.ts";
import type { ReplyTarget } from "../components/Composer.tsx";
import type {
  MessageActionHandlers,
  StaticActions,
} from "../components/MessageParts.tsx";
import {
  DEFAULT_EDIT_WINDOW_MS,
  mayEdit,
  quoteOf,
} from "../lib/chat/events.ts";
import { useMessageEditing } from "../components/message_editing.ts";
import { MessageList } from "../components/MessageList.tsx";
import { useRoomActivity } from "../components/room_activity.ts";
import { RoomFooter } from "../components/RoomFooter.tsx";
import { RoomAdminPanel } from "../components/RoomAdminPanel.tsx";
import { roomApi } from "../components/room_admin_api.ts";
import { RoomHeader } from "../components/RoomHeader.tsx";
import { moderates } from "../lib/chat/protocol.ts";
import { useRoomScroll } from "../components/room_scroll.ts";
import { useReadMarker } from "../components/read_marker.ts";
import { StatusBar } from "../components/StatusBar.tsx";
import {
  browserDependencies,
  roomSocketPath,
} from "../lib/chat/client/dependencies.ts";
import { RoomClient } from "../lib/chat/client/room_client.ts";
import { presentUsers, typingLabel } from "../lib/chat/presence.ts";
import type { ChatMessage, ChatUser } from "../lib/chat/types.ts";

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
  /** Whether the signed-out panel offers guest sign-in. */
  allowGuests: boolean;
  /** Offered to a guest who may not post, and when signed out. */
  googleClientId: string | null;
  /** A reply started without JavaScript (`?replyTo=`), kept once hydrated. */
  replyTo?: number | null;
  /** Every message shows reply and delete as a link and a form (the no-JS page's `?actions=1`), and for whom. */
  staticActions?: StaticActions;
  /** How long after posting an author may edit (`EDIT_WINDOW_MINUTES`; default a day). */
  editWindowMs?: number;
}

/** The composer's line for a reply to `m`. */
function replyLabel(m: ChatMessage | undefined): string {
  const quote = quoteOf(m);
  return quote.state === "shown"
    ? `${quote.user.name}: ${quote.snippet}`
    : quote.state === "deleted"
    ? "a deleted message"
    : "an earlier message";
}

/**
 * The live room: renders what its {@link RoomClient} knows (connection,
 * messages, pending messages, presence, typing) and keeps the view pinned to
 * the newest message unless the reader scrolled up. Signed out, it offers
 * sign-in in place; the client then reconnects and sends what waited.
 */
export default function ChatRoom(
  {
    room,
    user,
    history,
    hasMore,
    canPost,
    allowGuests,
    googleClientId,
    replyTo: initialReply = null,
    staticActions = "off",
    editWindowMs = DEFAULT_EDIT_WINDOW_MS,
  }: ChatRoomProps,
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
  const panelOpen = useSignal(false);
  const manageButton = useRef<HTMLElement | null>(null);
  /** Moves when a mute's time is up, so the composer comes back by itself. */
  const muteClock = useSignal(Date.now());
  const muteUntil = view.value.standing.mute?.until ?? null;
  useEffect(() => {
    muteClock.value = Date.now();
    if (muteUntil === null || muteUntil <= Date.now()) return;
    const timer = setTimeout(
      () => (muteClock.value = Date.now()),
      muteUntil - Date.now() + 50,
    );
    return () => clearTimeout(timer);
  }, [muteUntil]);
  const localTime = useSignal(false);
  const scroll = useRoomScroll(
    view,
    () => client.loadOlder(),
    localTime.value,
  );
  const activity = useRoomActivity();
  const alerts = useBackgroundAlerts(room, view.value.user);
  // The subscription below outlives renders: it reads the latest alerts.
  const alertsNow = useRef(alerts);
  alertsNow.current = alerts;

  const replyTo = useSignal<ReplyTarget | null>(
    initialReply === null ? null : {
      seq: initialReply,
      label: replyLabel(history.find((m) => m.seq === initialReply)),
    },
  );
  const editing = useMessageEditing(
    view,
    editWindowMs,
    (seq, text) => client.act({ type: "edit", target: seq, text }),
  );

  useEffect(() => {
    localTime.value = true;
    const unsubscribe = client.subscribe((event) => {
      switch (event.type) {
        case "change":
          scroll.measure(event.timeline);
          view.value = event.view;
          return;
        case "incoming":
          alertsNow.current.incoming(event.message);
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

  const actions: MessageActionHandlers = {
    onReact: (seq, emoji, on) =>
      client.act({ type: "react", target: seq, emoji, on }),
    onReply: (m) => {
      replyTo.value = { seq: m.seq, label: replyLabel(m) };
      document.querySelector<HTMLTextAreaElement>("#composer textarea")
        ?.focus();
    },
    onEdit: (m) => editing.start(m.seq),
    canEdit: (m) => mayEdit(m, user.id, Date.now(), editWindowMs),
    onDelete: (seq) => client.act({ type: "delete", target: seq }),
    onJump: (seq) => scroll.jumpTo(seq),
    onReport: (seq, reason) =>
      client.moderate({
        type: "report",
        target: seq,
        ...(reason ? { reason } : {}),
      }),
    moderation: moderates(view.value.standing.role)
      ? {
        onDelete: (seq) => client.act({ type: "delete", target: seq }),
        onModerate: (action, who, minutes, reason) =>
          client.moderate({
            type: "moderate",
            action,
            user: who,
            ...(minutes ? { minutes } : {}),
            ...(reason ? { reason } : {}),
          }),
      }
      : undefined,
  };

  const send = (text: string) => {
    const sent = client.post(text, replyTo.value?.seq);
    // Your own message brings you to it.
    if (sent) {
      scroll.stickToBottom();
      replyTo.value = null;
    }
    return sent;
  };

  const { messages, pending, status, presence, typing, notice, failures } =
    view.value;
  const me = view.value.user;
  const here = useMemo(() => presentUsers(presence), [presence]);
  const hereNames = useMemo(() => here.map((u) => u.name), [here]);
  useReadMarker(room, messages);
  // Someone who signed in since the page was rendered did so as a guest where
  // guests may post, or with Google: they may post.
  const settings = view.value.room?.settings;
  const mayPost = (me.id === user.id ? canPost : true) &&
    !(me.kind === "guest" && settings &&
      (!settings.guestsAllowed || settings.postPolicy !== "everyone"));
  const mute = view.value.standing.mute;
  const muted = mute && (mute.until === null || mute.until > muteClock.value)
    ? mute
    : null;
  return (
    <div class="room-body">
      <RoomHeader
        view={view.value}
        onManage={() => {
          manageButton.current = document.activeElement as HTMLElement;
          panelOpen.value = true;
        }}
        onClaim={() => roomApi(room, "POST", "owner", {})}
      />
      {panelOpen.value && (
        <RoomAdminPanel
          room={room}
          view={view.value}
          onClose={() => {
            panelOpen.value = false;
            manageButton.current?.focus();
          }}
        />
      )}
      <StatusBar
        status={status}
        presence={presence}
        me={me}
        showJoins={activity.showJoins}
        onToggleJoins={activity.toggleJoins}
        activity={activity.latest}
        offerNotifications={alerts.offerNotifications}
        onEnableNotifications={alerts.enableNotifications}
      />
      {/* Focusable so the keyboard can scroll it when no message holds a link. */}
      <div
        class="message-scroller"
        ref={scroll.scroller}
        onScroll={scroll.onScroll}
        tabIndex={0}
        role="region"
        aria-label="Conversation"
      >
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
            meId={me.id}
            meName={me.name}
            localTime={localTime.value}
            people={hereNames}
            empty={mayPost
              ? `Nothing here yet: write the first message in #${room}.`
              : `Nothing here yet in #${room}.`}
            unreadFrom={alerts.unreadFrom}
            events={activity.events}
            failures={failures}
            onRetry={(id) => client.retry(id)}
            onDiscard={(id) => client.discard(id)}
            room={mayPost ? room : undefined}
            actions={actions}
            staticActions={staticActions}
            editing={editing.edit}
          />
        </div>
      </div>
      {scroll.unseen > 0 && (
        <button
          type="button"
          class="btn btn-primary btn-sm jump-latest"
          onClick={scroll.jumpToLatest}
        >
          {scroll.unseen} new{" "}
          <i class="bi bi-arrow-down" aria-hidden="true"></i>
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
      <RoomFooter
        room={room}
        status={status}
        unsent={pending.length}
        mayPost={mayPost}
        allowGuests={allowGuests}
        googleClientId={googleClientId}
        onSignedIn={(u) => client.signedIn(u)}
        onRejoin={() => client.rejoin()}
        muted={muted}
        composer={{
          room,
          onType: (draft) => client.typed(draft),
          onSend: send,
          replyTo: replyTo.value,
          onCancelReply: () => (replyTo.value = null),
          onEditLast: editing.editLast,
          people: here,
          meId: me.id,
        }}
      />
    </div>
  );
}

import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useMemo, useRef } from "preact/hooks";
import { useBackgroundAlerts } from "../components/background_alerts.ts";
import { Composer, type ReplyTarget } from "../components/Composer.tsx";
import type { MessageActionHandlers } from "../components/MessageParts.tsx";
import { DEFAULT_EDIT_WINDOW_MS, quoteOf } from "../lib/chat/events.ts";
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
  /** Whether the signed-out panel offers guest sign-in. */
  allowGuests: boolean;
  /** Offered to a guest who may not post, and when signed out. */
  googleClientId: string | null;
  /** A reply started without JavaScript (`?replyTo=`), kept once hydrated. */
  replyTo?: number | null;
  /** Every message shows reply and delete as a link and a form (the no-JS page's `?actions=1`). */
  staticActions?: boolean;
}

/** How long a message jumped to stays highlighted. */
const HIGHLIGHT_MS = 2_000;

/** The composer's line for a reply to `m`. */
function replyLabel(m: ChatMessage | undefined): string {
  const quote = quoteOf(m);
  return quote.state === "shown"
    ? `${quote.user.name}: ${quote.snippet}`
    : quote.state === "deleted"
    ? "a deleted message"
    : "an earlier message";
}

/** Pixels from the bottom within which new messages keep the view pinned. */
const STICK_THRESHOLD_PX = 80;
/** Scrolled this close to the top, the next page of older messages loads. */
const LOAD_OLDER_THRESHOLD_PX = 40;

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
    staticActions = false,
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
  const unseen = useSignal(0);
  const localTime = useSignal(false);
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
  const editing = useSignal<number | null>(null);
  /** A message to scroll to once it is loaded (a reply's parent). */
  const jumpTarget = useRef<number | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const root = useRef<HTMLDivElement>(null);
  /** What takes the focus when the composer goes away under it (signed out, removed). */
  const footerFocus = useRef<HTMLElement>(null);
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

  /** Scrolls to the jump target if it is shown, else loads older pages towards it. */
  const tryJump = () => {
    const seq = jumpTarget.current;
    if (seq === null) return;
    const el = document.getElementById(`m${seq}`);
    if (el) {
      jumpTarget.current = null;
      stick.current = false;
      el.scrollIntoView({ block: "center" });
      el.classList.add("highlight");
      setTimeout(() => el.classList.remove("highlight"), HIGHLIGHT_MS);
      return;
    }
    const oldest = view.value.messages[0]?.seq ?? 0;
    if (view.value.olderAvailable && oldest > seq) client.loadOlder();
    else jumpTarget.current = null; // No longer stored.
  };
  useLayoutEffect(tryJump, [messages]);

  const actions: MessageActionHandlers = {
    onReact: (seq, emoji, on) =>
      client.act({ type: "react", target: seq, emoji, on }),
    onReply: (m) => {
      replyTo.value = { seq: m.seq, label: replyLabel(m) };
      document.querySelector<HTMLTextAreaElement>("#composer textarea")
        ?.focus();
    },
    onEdit: (m) => (editing.value = m.seq),
    onDelete: (seq) => client.act({ type: "delete", target: seq }),
    onJump: (seq) => {
      jumpTarget.current = seq;
      tryJump();
    },
  };

  const editLast = () => {
    const now = Date.now();
    const last = view.value.messages.findLast((m) =>
      m.user.id === view.value.user.id && !m.deleted &&
      now - m.ts < DEFAULT_EDIT_WINDOW_MS
    );
    if (!last) return false;
    editing.value = last.seq;
    return true;
  };

  const send = (text: string) => {
    const sent = client.post(text, replyTo.value?.seq);
    // Your own message brings you to it.
    if (sent) {
      stick.current = true;
      replyTo.value = null;
    }
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

  const { status, presence, typing, notice, failures } = view.value;
  // Whoever was typing or signing in when the footer changed under them is
  // not left on <body>: the panel's heading, Rejoin, or the composer again.
  const footerKind = status === "signed-out" || status === "kicked" ||
      status === "banned"
    ? status
    : "composer";
  const lastFooter = useRef(footerKind);
  useEffect(() => {
    if (lastFooter.current === footerKind) return;
    lastFooter.current = footerKind;
    const active = document.activeElement;
    if (active && active !== document.body) return;
    const target = footerFocus.current ??
      root.current?.querySelector<HTMLElement>("form.composer textarea");
    target?.focus();
  }, [footerKind]);
  const me = view.value.user;
  // Someone who signed in since the page was rendered did so as a guest where
  // guests may post, or with Google: they may post.
  const mayPost = me.id === user.id ? canPost : true;
  const footer = () => {
    switch (status) {
      case "signed-out":
        return (
          <section
            class="signed-out-panel composer border-top p-3"
            aria-labelledby="signed-out-title"
            data-testid="signed-out"
          >
            <h2
              id="signed-out-title"
              class="h6 mb-1"
              tabIndex={-1}
              ref={(el) => {
                footerFocus.current = el;
              }}
            >
              You're signed out
            </h2>
            <p class="small text-body-secondary mb-2">
              {pending.length > 0
                ? `Sign in to keep chatting: ${pending.length} unsent ${
                  pending.length === 1 ? "message is" : "messages are"
                } kept and sent once you are back.`
                : "Sign in to keep chatting."}
            </p>
            <SignIn
              next={`/chat/${room}`}
              allowGuests={allowGuests}
              googleClientId={googleClientId}
              onSignedIn={(u) => client.signedIn(u)}
            />
          </section>
        );
      case "kicked":
        return (
          <div class="composer border-top p-3">
            <button
              type="button"
              class="btn btn-primary btn-sm"
              ref={(el) => {
                footerFocus.current = el;
              }}
              onClick={() => client.rejoin()}
            >
              Rejoin #{room}
            </button>
          </div>
        );
      case "banned":
        return null;
      case "connecting":
      case "live":
      case "reconnecting":
      case "offline":
        return mayPost
          ? (
            <Composer
              room={room}
              onType={(draft) => client.typed(draft)}
              onSend={send}
              replyTo={replyTo.value}
              onCancelReply={() => (replyTo.value = null)}
              onEditLast={editLast}
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
          );
      default: {
        const _exhaustive: never = status;
        return null;
      }
    }
  };
  return (
    <div class="room-body" ref={root}>
      <StatusBar
        status={status}
        presence={presence}
        showJoins={activity.showJoins}
        onToggleJoins={activity.toggleJoins}
        activity={activity.latest}
        offerNotifications={alerts.offerNotifications}
        onEnableNotifications={alerts.enableNotifications}
      />
      {/* Focusable so the keyboard can scroll it when no message holds a link. */}
      <div
        class="message-scroller"
        ref={scroller}
        onScroll={onScroll}
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
            unreadFrom={alerts.unreadFrom}
            events={activity.events}
            failures={failures}
            onRetry={(id) => client.retry(id)}
            onDiscard={(id) => client.discard(id)}
            room={mayPost ? room : undefined}
            actions={actions}
            staticActions={staticActions}
            editing={editing.value === null ? null : {
              seq: editing.value,
              onSave: (text) => {
                const seq = editing.value!;
                if (client.act({ type: "edit", target: seq, text })) {
                  editing.value = null;
                }
              },
              onCancel: () => {
                editing.value = null;
                document.querySelector<HTMLTextAreaElement>(
                  "#composer textarea",
                )?.focus();
              },
            }}
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
      {footer()}
    </div>
  );
}

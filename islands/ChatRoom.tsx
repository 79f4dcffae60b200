import { batch, effect, useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef } from "preact/hooks";
import {
  Avatar,
  MessageList,
  type PendingMessage,
  type StreamEvent,
} from "../components/MessageList.tsx";
import { reconnectDelay } from "../lib/chat/backoff.ts";
import {
  type ClientFrame,
  DEFAULT_PAGE_SIZE,
  MAX_MESSAGE_CHARS,
  type ServerFrame,
  TYPING_THROTTLE_MS,
} from "../lib/chat/protocol.ts";
import type { ChatMessage, ChatUser } from "../lib/chat/types.ts";
import { Timeline } from "../lib/chat/timeline.ts";
import {
  emptyPresence,
  nextPresence,
  presentUsers,
  typingLabel,
} from "../lib/chat/presence.ts";
import type { PresenceState } from "../lib/chat/types.ts";
import { TERMINAL_CLOSE_CODES } from "../lib/shared.ts";
import SignIn from "./SignIn.tsx";

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

type Status = "connecting" | "live" | "reconnecting" | "signed-out";

/** Pixels from the bottom within which new messages keep the view pinned. */
const STICK_THRESHOLD_PX = 80;

const STATUS_LABEL: Record<Status, [string, string]> = {
  connecting: ["Connecting…", "text-bg-secondary"],
  live: ["Live", "text-bg-success"],
  reconnecting: ["Reconnecting…", "text-bg-warning"],
  "signed-out": ["Signed out", "text-bg-danger"],
};

/** Reads the persisted outbox; anything unreadable counts as empty. */
function loadOutbox(key: string): PendingMessage[] {
  try {
    const saved = JSON.parse(localStorage.getItem(key) ?? "[]");
    return Array.isArray(saved)
      ? saved.filter((p) =>
        typeof p?.clientId === "string" && typeof p?.text === "string"
      )
      : [];
  } catch {
    return [];
  }
}

function saveOutbox(key: string, pending: readonly PendingMessage[]): void {
  try {
    if (pending.length === 0) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(pending));
  } catch { /* storage full or disabled: the outbox still lives in memory */ }
}

/** Where the "joins & leaves in the stream" setting is kept (on by default). */
const SHOW_JOINS_KEY = "roomcast:show-joins";
/** Join/leave lines kept in the stream. */
const MAX_STREAM_EVENTS = 100;

/** "Ana joined", "Ana and Ben left", "5 people joined" (collapsed when many). */
function activityLine(joined: string[], left: string[]): string | null {
  const part = (names: string[], verb: string) =>
    names.length === 0
      ? null
      : names.length <= 2
      ? `${names.join(" and ")} ${verb}`
      : `${names.length} people ${verb}`;
  const parts = [part(joined, "joined"), part(left, "left")].filter(Boolean);
  return parts.length ? parts.join(" · ") : null;
}

/** Whether `text` mentions `name` (as @name or the whole name), ignoring case. */
function mentions(text: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}\\p{N}])@?${escaped}($|[^\\p{L}\\p{N}])`, "iu")
    .test(text);
}

/** Who is here: one entry per person however many tabs they have open. */
function PresenceList({ state }: { state: PresenceState }) {
  const users = presentUsers(state);
  return (
    <details class="presence">
      <summary
        class="btn btn-sm btn-outline-secondary py-0"
        data-testid="presence-count"
      >
        <i class="bi bi-people-fill me-1" aria-hidden="true"></i>
        {users.length} here
      </summary>
      <ul class="list-unstyled presence-list mb-0" data-testid="presence-list">
        {users.map((u) => (
          <li
            key={u.id}
            class="d-flex align-items-center gap-2 py-1"
            data-user={u.id}
          >
            <Avatar name={u.name} picture={u.picture} />
            <span class="text-truncate">{u.name}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * The live room: one WebSocket with jittered, capped reconnects; messages
 * merged by `seq` so reconnects and resends never duplicate; an outbox of
 * pending messages sent again after a reconnect.
 */
export default function ChatRoom(
  { room, user, history, hasMore, canPost, googleClientId }: ChatRoomProps,
) {
  const timeline = useMemo(() => {
    const t = new Timeline();
    t.welcome(history, history.at(-1)?.seq ?? 0);
    return t;
  }, []);
  const messages = useSignal<readonly ChatMessage[]>(timeline.messages);
  const pending = useSignal<readonly PendingMessage[]>([]);
  const status = useSignal<Status>("connecting");
  const olderAvailable = useSignal(hasMore);
  const loadingOlder = useSignal(false);
  const notice = useSignal<string | null>(null);
  const unseen = useSignal(0);
  const localTime = useSignal(false);
  const draft = useSignal("");
  const presence = useSignal<PresenceState>(emptyPresence());
  const typing = useSignal<
    ReadonlyMap<string, { name: string; until: number }>
  >(new Map());
  const activity = useSignal<string | null>(null);
  const streamEvents = useSignal<readonly StreamEvent[]>([]);
  const showJoins = useSignal(true);
  const unreadFrom = useSignal<number | null>(null);
  const hiddenUnread = useSignal(0);
  const notifyMentions = useSignal(false);
  const lastTypingSent = useRef(0);

  const scroller = useRef<HTMLDivElement>(null);
  const socket = useRef<WebSocket | null>(null);
  const stick = useRef(true);
  const keepOffset = useRef<number | null>(null);
  const resumeInFlight = useRef(false);
  const resumeOwed = useRef(false);

  const nearBottom = () => {
    const el = scroller.current;
    return !el ||
      el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
  };

  const send = (frame: ClientFrame): boolean => {
    const ws = socket.current;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  };

  const requestResume = (force = false) => {
    if (resumeInFlight.current) {
      // A resync while a resume is answered: its answer may predate what was lost.
      if (force) resumeOwed.current = true;
      return;
    }
    if (!(force || timeline.hasGap)) return;
    resumeInFlight.current = send({
      type: "resume",
      after: timeline.contiguous,
    });
  };

  const showMessages = (mine: boolean) => {
    const wasNear = nearBottom();
    stick.current = wasNear || mine;
    const before = messages.value.length;
    messages.value = timeline.messages;
    if (!stick.current) unseen.value += timeline.messages.length - before;
  };

  const onFrame = (frame: ServerFrame) => {
    switch (frame.type) {
      case "welcome": {
        timeline.welcome(frame.history, frame.lastSeq);
        const stored = new Set(frame.history.map((m) => m.clientId));
        batch(() => {
          // A send whose confirmation was lost is already in the history: not pending any more.
          pending.value = pending.value.filter((p) => !stored.has(p.clientId));
          status.value = "live";
          notice.value = null;
          showMessages(false);
        });
        requestResume();
        // Everything written while offline goes out now; the server dedups by clientId.
        for (const p of pending.value) {
          send({ type: "message", text: p.text, clientId: p.clientId });
        }
        return;
      }
      case "message": {
        const mine = frame.message.user.id === user.id;
        const fresh = timeline.add([frame.message]);
        if (fresh && !mine) noticeIncoming(frame.message);
        if (typing.value.has(frame.message.user.id)) {
          const next = new Map(typing.value);
          next.delete(frame.message.user.id);
          typing.value = next;
        }
        batch(() => {
          pending.value = pending.value.filter((p) =>
            p.clientId !== frame.message.clientId
          );
          showMessages(mine);
        });
        requestResume();
        return;
      }
      case "history": {
        if (frame.direction === "newer") {
          resumeInFlight.current = false;
          timeline.addNewer(frame.messages, frame.hasMore);
          batch(() => {
            const sent = new Set(frame.messages.map((m) => m.clientId));
            pending.value = pending.value.filter((p) => !sent.has(p.clientId));
            showMessages(false);
          });
          const owed = resumeOwed.current;
          resumeOwed.current = false;
          requestResume(owed);
        } else {
          const el = scroller.current;
          keepOffset.current = el ? el.scrollHeight - el.scrollTop : null;
          timeline.add(frame.messages);
          batch(() => {
            olderAvailable.value = frame.hasMore;
            loadingOlder.value = false;
            messages.value = timeline.messages;
          });
        }
        return;
      }
      case "presence": {
        const before = presence.value;
        const after = nextPresence(before, frame);
        presence.value = after;
        if (!frame.state) {
          const joined = Object.keys(after).filter((id) =>
            !before[id] && id !== user.id
          );
          const left = Object.keys(before).filter((id) =>
            !after[id] && id !== user.id
          );
          const line = activityLine(
            joined.map((id) => after[id].user.name),
            left.map((id) => before[id].user.name),
          );
          if (line) {
            activity.value = line;
            const event = {
              id: crypto.randomUUID(),
              ts: Date.now(),
              text: line,
            };
            streamEvents.value = [...streamEvents.value, event].slice(
              -MAX_STREAM_EVENTS,
            );
          }
        }
        return;
      }
      case "typing": {
        const next = new Map(typing.value);
        next.set(frame.userId, {
          name: frame.name,
          until: Date.now() + frame.ttl,
        });
        typing.value = next;
        return;
      }
      case "resync":
        requestResume(true);
        return;
      case "error":
        notice.value = frame.message;
        return;
    }
  };

  useEffect(() => {
    localTime.value = true;
    // The outbox survives a reload: what was written offline is still sent, once.
    const outboxKey = `roomcast:outbox:${room}:${user.id}`;
    pending.value = loadOutbox(outboxKey);
    const stopSaving = effect(() => saveOutbox(outboxKey, pending.value));
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(
        `${scheme}://${location.host}/ws/chat/${encodeURIComponent(room)}`,
      );
      socket.current = ws;
      ws.onopen = () => {
        attempt = 0;
      };
      ws.onmessage = (event) => {
        try {
          onFrame(JSON.parse(event.data));
        } catch (err) {
          console.error("bad frame from server", err);
        }
      };
      ws.onclose = (event) => {
        if (socket.current === ws) socket.current = null;
        resumeInFlight.current = false;
        if (stopped) return;
        if (TERMINAL_CLOSE_CODES.has(event.code)) {
          status.value = "signed-out";
          notice.value = "Your session ended. Sign in again to keep chatting.";
          return;
        }
        status.value = "reconnecting";
        timer = setTimeout(connect, reconnectDelay(attempt++));
      };
    };
    connect();
    // Back online: try now instead of waiting out the backoff.
    const onOnline = () => {
      if (socket.current || stopped) return;
      clearTimeout(timer);
      connect();
    };
    addEventListener("online", onOnline);
    return () => {
      stopped = true;
      stopSaving();
      clearTimeout(timer);
      removeEventListener("online", onOnline);
      socket.current?.close();
    };
  }, []);

  const baseTitle = useRef("");
  useEffect(() => {
    baseTitle.current = document.title;
    try {
      showJoins.value = localStorage.getItem(SHOW_JOINS_KEY) !== "off";
    } catch { /* storage disabled: on by default */ }
    const onVisibility = () => {
      if (document.hidden) return;
      document.title = baseTitle.current;
      hiddenUnread.value = 0;
    };
    document.addEventListener("visibilitychange", onVisibility);
    // Typing indicators expire on their own (sent with a ttl, never stored).
    const prune = setInterval(() => {
      const now = Date.now();
      if ([...typing.value.values()].some((t) => t.until <= now)) {
        typing.value = new Map(
          [...typing.value].filter(([, t]) => t.until > now),
        );
      }
    }, 1_000);
    return () => {
      document.removeEventListener("visibilitychange", onVisibility);
      clearInterval(prune);
    };
  }, []);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages.value, pending.value]);

  /** Title counter and mention notifications while the tab is in the background. */
  const noticeIncoming = (message: ChatMessage) => {
    if (!document.hidden) return;
    if (hiddenUnread.value === 0) unreadFrom.value = message.seq;
    hiddenUnread.value++;
    document.title = `(${hiddenUnread.value}) ${baseTitle.current}`;
    if (notifyMentions.value && mentions(message.text, user.name)) {
      try {
        new Notification(`${message.user.name} in #${room}`, {
          body: message.text.slice(0, 140),
          tag: `roomcast-${room}`,
        });
      } catch { /* notifications unavailable */ }
    }
  };

  const onDraftInput = (value: string) => {
    draft.value = value;
    const now = Date.now();
    if (value.trim() && now - lastTypingSent.current >= TYPING_THROTTLE_MS) {
      if (send({ type: "typing" })) lastTypingSent.current = now;
    }
  };

  const toggleJoins = () => {
    showJoins.value = !showJoins.value;
    try {
      localStorage.setItem(SHOW_JOINS_KEY, showJoins.value ? "on" : "off");
    } catch { /* storage disabled: the setting lasts for this page */ }
  };

  const enableNotifications = async () => {
    if (typeof Notification === "undefined") return;
    notifyMentions.value =
      (await Notification.requestPermission()) === "granted";
  };

  const submit = (event?: JSX.TargetedEvent<HTMLFormElement>) => {
    event?.preventDefault();
    const text = draft.value.trim();
    if (!text) return;
    if (text.length > MAX_MESSAGE_CHARS) {
      notice.value = `Messages are limited to ${MAX_MESSAGE_CHARS} characters.`;
      return;
    }
    const clientId = crypto.randomUUID();
    batch(() => {
      pending.value = [...pending.value, { clientId, text, ts: Date.now() }];
      draft.value = "";
      stick.current = true;
      lastTypingSent.current = 0;
    });
    if (status.value === "live") send({ type: "message", text, clientId });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  const loadOlder = () => {
    if (loadingOlder.value) return;
    loadingOlder.value = send({
      type: "history",
      before: timeline.oldest || Number.MAX_SAFE_INTEGER,
      limit: DEFAULT_PAGE_SIZE,
    });
  };

  const onScroll = () => {
    if (nearBottom()) unseen.value = 0;
    const el = scroller.current;
    if (el && el.scrollTop < 40 && olderAvailable.value) loadOlder();
  };

  const jumpToLatest = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    unseen.value = 0;
  };

  const [label, badge] = STATUS_LABEL[status.value];
  return (
    <div class="room-body">
      <div class="room-status px-3 py-1 d-flex align-items-center gap-2 small">
        <span
          class={`badge ${badge}`}
          data-testid="status"
          data-status={status.value}
          role="status"
        >
          {label}
        </span>
        <PresenceList state={presence.value} />
        <button
          type="button"
          class="btn btn-link btn-sm p-0 text-body-secondary"
          aria-pressed={showJoins.value}
          title="Show who joins and leaves in the conversation"
          data-testid="toggle-joins"
          onClick={toggleJoins}
        >
          <i
            class={`bi ${showJoins.value ? "bi-eye" : "bi-eye-slash"}`}
            aria-hidden="true"
          >
          </i>
          <span class="d-none d-md-inline ms-1">Joins &amp; leaves</span>
        </button>
        {activity.value && (
          <span
            class="text-body-secondary text-truncate"
            data-testid="activity"
          >
            {activity.value}
          </span>
        )}
        {localTime.value && typeof Notification !== "undefined" &&
          !notifyMentions.value && (
          <button
            type="button"
            class="btn btn-link btn-sm ms-auto p-0"
            onClick={enableNotifications}
            aria-label="Notify me of mentions"
            title="Notify me of mentions"
          >
            <i class="bi bi-bell" aria-hidden="true"></i>
            <span class="d-none d-sm-inline ms-1">Notify me of mentions</span>
          </button>
        )}
      </div>
      <div class="message-scroller" ref={scroller} onScroll={onScroll}>
        {olderAvailable.value && (
          <div class="text-center my-2">
            <button
              type="button"
              class="btn btn-sm btn-outline-secondary"
              onClick={loadOlder}
              disabled={loadingOlder.value}
            >
              Load older
            </button>
          </div>
        )}
        <div role="log" aria-live="polite" aria-label="Messages">
          <MessageList
            messages={messages.value}
            pending={pending.value}
            meId={user.id}
            meName={user.name}
            localTime={localTime.value}
            unreadFrom={unreadFrom.value}
            events={showJoins.value ? streamEvents.value : []}
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
        {typingLabel([...typing.value.values()].map((t) => t.name))}
      </div>
      {notice.value && (
        <div
          class="room-notice alert alert-warning small mx-2 mb-2 py-1 px-3"
          role="alert"
        >
          {notice.value}
        </div>
      )}
      {canPost
        ? (
          <form
            class="composer border-top p-2"
            method="post"
            action={`/api/rooms/${room}/messages`}
            onSubmit={submit}
          >
            <div class="input-group">
              <textarea
                name="text"
                class="form-control"
                rows={1}
                maxLength={MAX_MESSAGE_CHARS}
                placeholder={`Message #${room}`}
                aria-label={`Message #${room}`}
                value={draft.value}
                onInput={(e) => onDraftInput(e.currentTarget.value)}
                onKeyDown={onKeyDown}
                required
              />
              <button type="submit" class="btn btn-primary" aria-label="Send">
                <i class="bi bi-send-fill" aria-hidden="true"></i>
              </button>
            </div>
          </form>
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

import { batch, effect, useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef } from "preact/hooks";
import {
  MessageList,
  type PendingMessage,
} from "../components/MessageList.tsx";
import { reconnectDelay } from "../lib/chat/backoff.ts";
import {
  type ChatMessage,
  type ChatUser,
  type ClientFrame,
  DEFAULT_PAGE_SIZE,
  MAX_MESSAGE_CHARS,
  type ServerFrame,
} from "../lib/chat/protocol.ts";
import { Timeline } from "../lib/chat/timeline.ts";
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
/** Close codes after which reconnecting would not help. */
const TERMINAL_CLOSE_CODES = new Set([1008]);

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

  const scroller = useRef<HTMLDivElement>(null);
  const socket = useRef<WebSocket | null>(null);
  const stick = useRef(true);
  const keepOffset = useRef<number | null>(null);
  const resumeInFlight = useRef(false);

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
    if (resumeInFlight.current || !(force || timeline.hasGap)) return;
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
        batch(() => {
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
        timeline.add([frame.message]);
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
          requestResume();
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
                onInput={(e) => draft.value = e.currentTarget.value}
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

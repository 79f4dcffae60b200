import type { VNode } from "preact";
import { useState } from "preact/hooks";
import type { ChatMessage } from "../lib/chat/types.ts";
import type { PendingMessage } from "../lib/chat/client/outbox.ts";
import { MessageText } from "./MessageText.tsx";
import {
  EditBox,
  type MessageActionHandlers,
  MessageActions,
  QuoteLine,
  Reactions,
} from "./MessageParts.tsx";

/** Consecutive messages by one author within this window share one header. */
export const GROUP_WINDOW_MS = 5 * 60 * 1000;

/** Formats a timestamp as a short local time; UTC on the server. */
export function formatTime(ts: number, local: boolean): string {
  const d = new Date(ts);
  if (!local) return d.toISOString().slice(11, 16) + " UTC";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function initials(name: string): string {
  return name.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 2)
    .toUpperCase();
}

/** Number of avatar colour classes in app.css (`avatar-c0` …). */
const AVATAR_COLORS = 6;

/** A stable colour for a name (classes, not inline styles: the CSP forbids those). */
function colorClass(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return `avatar-c${h % AVATAR_COLORS}`;
}

/** A small round picture, or the author's initials when there is none. */
export function Avatar(
  { name, picture }: { name: string; picture?: string },
): VNode {
  return picture
    ? <img class="avatar" src={picture} alt="" referrerpolicy="no-referrer" />
    : (
      <span
        class={`avatar avatar-initials ${colorClass(name)}`}
        aria-hidden="true"
      >
        {initials(name)}
      </span>
    );
}

interface MessageListProps {
  messages: readonly ChatMessage[];
  pending?: readonly PendingMessage[];
  meId?: string;
  meName?: string;
  /** Format times in the viewer's zone (only after hydration, so SSR matches). */
  localTime?: boolean;
  /** Seq of the first message that arrived while the tab was hidden: a divider goes above it. */
  unreadFrom?: number | null;
  /** "Ana joined" lines, placed among the messages by time. */
  events?: readonly StreamEvent[];
  /** Pending messages the server refused for good, by `clientId`: why. */
  failures?: Readonly<Record<string, string>>;
  /** Offers Retry on each pending message (the live room only). */
  onRetry?: (clientId: string) => void;
  /** Offers Discard on each pending message (the live room only). */
  onDiscard?: (clientId: string) => void;
  /** The room, for the actions' no-JS links and forms; no actions without it. */
  room?: string;
  /**
   * What the actions do (the live room): they show on the message under the
   * pointer, with keyboard focus, or tapped.
   */
  actions?: MessageActionHandlers;
  /**
   * Every message shows its actions as plain links and forms (the no-JS
   * page's `?actions=1`): reply is a link that prefills, delete a form.
   */
  staticActions?: boolean;
  /** The message being edited in place, and what saving or cancelling does. */
  editing?: MessageEdit | null;
}

/** A message being edited in place, and what saving or cancelling does. */
export interface MessageEdit {
  seq: number;
  onSave: (text: string) => void;
  onCancel: () => void;
}

/** Characters of a pending message named in its buttons' labels. */
const LABEL_EXCERPT_CHARS = 40;

function excerpt(text: string): string {
  return text.length > LABEL_EXCERPT_CHARS
    ? `${text.slice(0, LABEL_EXCERPT_CHARS)}…`
    : text;
}

/** A line in the stream that is not a message (joins and leaves). */
export interface StreamEvent {
  id: string;
  ts: number;
  text: string;
}

function EventLine({ event }: { event: StreamEvent }): VNode {
  return (
    <li
      key={event.id}
      class="activity-line text-body-secondary small"
      data-testid="stream-event"
    >
      {event.text}
    </li>
  );
}

/** The room's messages, grouped by author, oldest first. */
export function MessageList(
  {
    messages,
    pending = [],
    meId,
    meName = "",
    localTime = false,
    unreadFrom = null,
    events = [],
    failures = {},
    onRetry,
    onDiscard,
    room,
    actions,
    staticActions = false,
    editing = null,
  }: MessageListProps,
): VNode {
  /** The message whose actions show (under the pointer, focused or tapped). */
  const [active, setActive] = useState<number | null>(null);
  let e = 0;
  /** Events up to `ts`, in order, each rendered once. */
  const eventsBefore = (ts: number) => {
    const lines: VNode[] = [];
    while (e < events.length && events[e].ts <= ts) {
      const event = events[e++];
      lines.push(<EventLine key={event.id} event={event} />);
    }
    return lines;
  };

  return (
    <ol class="message-list list-unstyled mb-0">
      {messages.map((m, i) => {
        const prev = messages[i - 1];
        const grouped = prev !== undefined && prev.user.id === m.user.id &&
          m.ts - prev.ts < GROUP_WINDOW_MS;
        const mine = m.user.id === meId;
        const divider = m.seq === unreadFrom && (
          <li
            key="unread"
            class="unread-divider"
            data-testid="unread-divider"
            role="separator"
          >
            <span>New messages</span>
          </li>
        );
        return [
          ...eventsBefore(m.ts),
          divider,
          <li
            key={m.seq}
            id={`m${m.seq}`}
            class={`message ${mine ? "mine" : ""} ${grouped ? "grouped" : ""}`}
            data-seq={m.seq}
            {...(actions
              ? {
                // Focusable, so a keyboard reaches a message's actions (Tab goes on into them).
                tabIndex: 0,
                onMouseEnter: () => setActive(m.seq),
                onMouseLeave: () => setActive(null),
                // Capture: the focus of the message or anything in it.
                onFocusCapture: () => setActive(m.seq),
                onClick: () => setActive(m.seq),
              }
              : {})}
          >
            {!grouped && (
              <div class="message-meta">
                <Avatar name={m.user.name} picture={m.user.picture} />
                <strong class="message-author">{m.user.name}</strong>
                {m.user.kind === "guest" && (
                  <span class="badge guest-badge">guest</span>
                )}
                <time
                  class="text-body-secondary small ms-2"
                  dateTime={new Date(m.ts).toISOString()}
                >
                  {formatTime(m.ts, localTime)}
                </time>
              </div>
            )}
            {m.replyTo !== undefined && !m.deleted && (
              <QuoteLine
                replyTo={m.replyTo}
                quote={m.quote}
                onJump={actions?.onJump}
              />
            )}
            {m.deleted
              ? (
                <div class="bubble deleted fst-italic text-body-secondary">
                  Message deleted
                </div>
              )
              : editing?.seq === m.seq
              ? (
                <EditBox
                  message={m}
                  onSave={editing.onSave}
                  onCancel={editing.onCancel}
                />
              )
              : (
                <div class="bubble">
                  <MessageText text={m.text} />
                  {m.edited !== undefined && (
                    <span
                      class="edited small text-body-secondary ms-1"
                      title={new Date(m.edited).toISOString()}
                    >
                      (edited {formatTime(m.edited, localTime)})
                    </span>
                  )}
                </div>
              )}
            {!m.deleted && (
              <Reactions message={m} meId={meId} onReact={actions?.onReact} />
            )}
            {room && meId && !m.deleted &&
              (staticActions || (actions && active === m.seq)) && (
              <MessageActions
                room={room}
                message={m}
                meId={meId}
                handlers={actions}
              />
            )}
          </li>,
        ];
      })}
      {eventsBefore(Number.MAX_SAFE_INTEGER)}
      {pending.map((p) => {
        const failure = failures[p.clientId];
        const about = excerpt(p.text);
        return (
          <li
            key={p.clientId}
            class={`message mine pending ${failure ? "failed" : ""}`}
            data-pending={p.clientId}
          >
            <div class="message-meta">
              <Avatar name={meName} />
              <strong class="message-author">{meName}</strong>
              {failure
                ? <span class="badge text-bg-danger ms-2">not sent</span>
                : <span class="badge text-bg-warning ms-2">pending</span>}
            </div>
            <div class="bubble">
              <MessageText text={p.text} />
            </div>
            {failure && (
              <div class="small text-danger" data-testid="failure">
                {failure}
              </div>
            )}
            {(onRetry || onDiscard) && (
              <div class="pending-actions small">
                {onRetry && (
                  <button
                    type="button"
                    class="btn btn-link btn-sm p-0 me-2"
                    aria-label={`Retry sending: ${about}`}
                    onClick={() => onRetry(p.clientId)}
                  >
                    Retry
                  </button>
                )}
                {onDiscard && (
                  <button
                    type="button"
                    class="btn btn-link btn-sm p-0 text-body-secondary"
                    aria-label={`Discard: ${about}`}
                    onClick={() => onDiscard(p.clientId)}
                  >
                    Discard
                  </button>
                )}
              </div>
            )}
          </li>
        );
      })}
    </ol>
  );
}

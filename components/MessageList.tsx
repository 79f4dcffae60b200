import type { ComponentChildren, VNode } from "preact";
import { useMemo, useState } from "preact/hooks";
import { mentions } from "../lib/chat/mentions.ts";
import type { ChatMessage } from "../lib/chat/types.ts";
import type { PendingMessage } from "../lib/chat/client/outbox.ts";
import {
  dayKey,
  dayLabel,
  formatFull,
  formatTime,
  zoneFor,
} from "../lib/web/times.ts";
import { Avatar, Discriminator, VerifiedMark } from "./Identity.tsx";
import { MessageText } from "./MessageText.tsx";
import {
  EditBox,
  type MessageActionHandlers,
  MessageActions,
  QuoteLine,
  Reactions,
  type StaticActions,
} from "./MessageParts.tsx";

/** Consecutive messages by one author within this window share one header. */
export const GROUP_WINDOW_MS = 5 * 60 * 1000;

interface MessageListProps {
  messages: readonly ChatMessage[];
  pending?: readonly PendingMessage[];
  meId?: string;
  meName?: string;
  /** Format times and days in the viewer's zone (only after hydration, so SSR matches). */
  localTime?: boolean;
  /** Names of the people here, for `@name` highlighting (authors are added). */
  people?: readonly string[];
  /** What an empty room shows instead of messages. */
  empty?: ComponentChildren;
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
   * page's `?actions=1`): reply is a link that prefills, delete a form (on
   * anyone's message for a moderator); "off" for the live room.
   */
  staticActions?: StaticActions;
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
    people = [],
    empty = "No messages yet.",
    unreadFrom = null,
    events = [],
    failures = {},
    onRetry,
    onDiscard,
    room,
    actions,
    staticActions = "off",
    editing = null,
  }: MessageListProps,
): VNode {
  /** The message whose actions show (under the pointer, focused or tapped). */
  const [active, setActive] = useState<number | null>(null);
  const zone = zoneFor(localTime);
  // "Today" is read when the list renders (the server's day, then the reader's).
  const now = Date.now();
  /** Who `@name` may name: the people here and the authors shown. */
  const names = useMemo(
    () => [...new Set([...people, ...messages.map((m) => m.user.name)])],
    [people, messages],
  );
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
      {messages.length === 0 && pending.length === 0 && (
        <li class="empty-room text-body-secondary" data-testid="empty-room">
          {empty}
        </li>
      )}
      {messages.map((m, i) => {
        const prev = messages[i - 1];
        const grouped = prev !== undefined && prev.user.id === m.user.id &&
          m.ts - prev.ts < GROUP_WINDOW_MS &&
          dayKey(prev.ts, zone) === dayKey(m.ts, zone);
        const mine = m.user.id === meId;
        const newDay = prev === undefined ||
          dayKey(prev.ts, zone) !== dayKey(m.ts, zone);
        const daySeparator = newDay && (
          <li key={`day-${m.seq}`} class="day-separator" data-testid="day">
            <span>{dayLabel(m.ts, now, zone)}</span>
          </li>
        );
        const mentionsMe = !mine && meName !== "" && !m.deleted &&
          mentions(m.text, meName);
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
          daySeparator,
          divider,
          <li
            key={m.seq}
            id={`m${m.seq}`}
            class={`message ${mine ? "mine" : ""} ${grouped ? "grouped" : ""} ${
              mentionsMe ? "mentions-me" : ""
            }`}
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
                <Avatar
                  id={m.user.id}
                  name={m.user.name}
                  picture={m.user.picture}
                />
                <strong class="message-author">{m.user.name}</strong>
                {m.user.kind === "google"
                  ? <VerifiedMark />
                  : <span class="badge guest-badge">guest</span>}
                <time
                  class="text-body-secondary small ms-2"
                  dateTime={new Date(m.ts).toISOString()}
                  title={formatFull(m.ts, zone)}
                >
                  {formatTime(m.ts, zone)}
                </time>
                {/* Last: hidden until hover, its width must not part the name from its badge. */}
                <Discriminator user={m.user} onHover />
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
                  <MessageText text={m.text} names={names} me={meName} />
                  {m.edited !== undefined && (
                    <span
                      class="edited small text-body-secondary ms-1"
                      title={formatFull(m.edited, zone)}
                    >
                      (edited {formatTime(m.edited, zone)})
                    </span>
                  )}
                </div>
              )}
            {!m.deleted && (
              <Reactions message={m} meId={meId} onReact={actions?.onReact} />
            )}
            {room && meId && !m.deleted &&
              (staticActions !== "off" || (actions && active === m.seq)) && (
              <MessageActions
                room={room}
                message={m}
                meId={meId}
                handlers={actions}
                plain={staticActions}
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
              <Avatar id={meId ?? ""} name={meName} />
              <strong class="message-author">{meName}</strong>
              {failure
                ? <span class="badge text-bg-danger ms-2">not sent</span>
                : <span class="badge text-bg-warning ms-2">pending</span>}
            </div>
            <div class="bubble">
              <MessageText text={p.text} names={names} me={meName} />
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

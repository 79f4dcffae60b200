/**
 * The live connection to one room, without any UI framework: one socket with
 * jittered, capped reconnects; messages merged by `seq` in a {@link Timeline}
 * and any gap asked for with `resume`; an outbox of pending messages sent
 * again after a reconnect; typing and presence. The island renders its
 * {@link RoomView}; tests drive it with a fake socket and a fake clock.
 *
 * @module
 */

import { TERMINAL_CLOSE_CODES } from "../../shared.ts";
import { reconnectDelay } from "../backoff.ts";
import {
  activityLine,
  emptyPresence,
  nextPresence,
  presenceChanges,
} from "../presence.ts";
import {
  type ClientFrame,
  DEFAULT_PAGE_SIZE,
  MAX_MESSAGE_CHARS,
  parseServerFrame,
  type ServerFrame,
  TYPING_THROTTLE_MS,
  unreachable,
} from "../protocol.ts";
import { Timeline } from "../timeline.ts";
import type { ChatMessage, ChatUser, PresenceState } from "../types.ts";
import {
  type RoomClientDeps,
  SOCKET_OPEN,
  type TimerId,
  type WebSocketLike,
} from "./dependencies.ts";
import { Outbox, outboxKey, type PendingMessage } from "./outbox.ts";
import { TypingIndicators } from "./typing.ts";

/** What the status bar shows. */
export type RoomStatus = Connection["status"];

/**
 * The connection and what each state holds. `connecting` is the first
 * attempt (no socket before {@link RoomClient.start}); `reconnecting` either
 * waits out a backoff (`retry`) or tries a socket; `attempt` counts the
 * failures since a socket last opened.
 */
type Connection =
  | { status: "connecting"; socket: WebSocketLike | null }
  | { status: "live"; socket: WebSocketLike }
  | {
    status: "reconnecting";
    attempt: number;
    socket: WebSocketLike | null;
    retry: TimerId | null;
  }
  | { status: "signed-out" };

/**
 * Recovery with `resume`: none asked, one asked, or one asked and another
 * owed once it is answered (a `resync` came meanwhile, and the answer may
 * predate what was lost).
 */
type Resume = "idle" | "in-flight" | "owed";

/** Everything the room's UI shows, replaced (never mutated) on each change. */
export interface RoomView {
  readonly status: RoomStatus;
  /** Stored messages in `seq` order. */
  readonly messages: readonly ChatMessage[];
  /** Written here, not yet confirmed by the server. */
  readonly pending: readonly PendingMessage[];
  readonly presence: PresenceState;
  /** Names of the people typing. */
  readonly typing: readonly string[];
  /** Whether older messages than the first shown exist. */
  readonly olderAvailable: boolean;
  /** A page of older messages was asked for and not answered yet. */
  readonly loadingOlder: boolean;
  /** A problem to show the user, or `null`. */
  readonly notice: string | null;
}

/** How the timeline changed: new messages at the end, or a page of older ones. */
export interface TimelineChange {
  direction: "newer" | "older";
  /** The change came with the user's own message. */
  mine: boolean;
  /** Messages that were not known before. */
  added: number;
}

/** What a {@link RoomClient} tells its subscribers. */
export type RoomEvent =
  /** The view changed (`timeline` says how, when the messages did). */
  | { type: "change"; view: RoomView; timeline?: TimelineChange }
  /** Someone else's message arrived, seen for the first time. */
  | { type: "incoming"; message: ChatMessage }
  /** People joined or left: "Ana joined", "5 people left". */
  | { type: "activity"; text: string; at: number };

/** What a room's client starts from (the page rendered on the server). */
export interface RoomClientOptions {
  room: string;
  /** The socket's URL or, in the browser, its path (see `roomSocketPath`). */
  url: string;
  /** Who is signed in. */
  user: ChatUser;
  /** Recent messages rendered on the server. */
  history: readonly ChatMessage[];
  /** Whether older messages exist. */
  hasMore: boolean;
  /** Where the outbox is kept; {@link outboxKey} of room and user by default. */
  outboxKey?: string;
}

/** Shown once the server ended the session (a terminal close code). */
export const SESSION_ENDED_NOTICE =
  "Your session ended. Sign in again to keep chatting.";

/**
 * One room's live connection and state.
 *
 * @example
 * ```ts
 * const client = new RoomClient(
 *   { room, url: roomSocketPath(room), user, history, hasMore },
 *   browserDependencies(),
 * );
 * const off = client.subscribe((e) => { if (e.type === "change") render(e.view); });
 * client.start();
 * client.post("hello");
 * // later: off(); client.stop();
 * ```
 */
export class RoomClient {
  readonly #options: RoomClientOptions;
  readonly #deps: RoomClientDeps;
  readonly #listeners = new Set<(event: RoomEvent) => void>();
  readonly #timeline = new Timeline();
  readonly #outbox: Outbox;
  readonly #typing = new TypingIndicators();
  #conn: Connection = { status: "connecting", socket: null };
  #resume: Resume = "idle";
  #presence: PresenceState = emptyPresence();
  #olderAvailable: boolean;
  #loadingOlder = false;
  #notice: string | null = null;
  #lastTypingSent = 0;
  #typingExpiry: TimerId | null = null;
  #view: RoomView;

  constructor(options: RoomClientOptions, deps: RoomClientDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#outbox = new Outbox(
      deps.storage,
      options.outboxKey ?? outboxKey(options.room, options.user.id),
    );
    this.#timeline.welcome(options.history, options.history.at(-1)?.seq ?? 0);
    this.#olderAvailable = options.hasMore;
    this.#view = this.#snapshot();
  }

  /** The current view. */
  get view(): RoomView {
    return this.#view;
  }

  /** Calls `listener` on every event from now on. Returns the unsubscribe. */
  subscribe(listener: (event: RoomEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loads the outbox a previous page left, connects, and listens for `online`. */
  start(): void {
    this.#outbox.load();
    this.#changed();
    this.#deps.network?.addEventListener("online", this.#onOnline);
    this.#conn = { status: "connecting", socket: this.#open() };
  }

  /** Closes the socket and stops every timer: nothing is sent or received after. */
  stop(): void {
    this.#deps.network?.removeEventListener("online", this.#onOnline);
    this.#clearTypingExpiry();
    const conn = this.#conn;
    if (conn.status === "reconnecting" && conn.retry !== null) {
      this.#deps.clock.clearTimeout(conn.retry);
    }
    const socket = "socket" in conn ? conn.socket : null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close();
    }
  }

  /**
   * Sends a message, or keeps it pending until the room is live. Returns
   * false when `text` was not accepted (blank, or too long: then the view's
   * notice says why), so the composer keeps it.
   */
  post(text: string): boolean {
    const trimmed = text.trim();
    if (!trimmed) return false;
    if (trimmed.length > MAX_MESSAGE_CHARS) {
      this.#notice = `Messages are limited to ${MAX_MESSAGE_CHARS} characters.`;
      this.#changed();
      return false;
    }
    const clientId = this.#deps.newId();
    this.#outbox.add({ clientId, text: trimmed, ts: this.#deps.clock.now() });
    this.#lastTypingSent = 0;
    this.#changed();
    if (this.#conn.status === "live") {
      this.#send({ type: "message", text: trimmed, clientId });
    }
    return true;
  }

  /** The composer now holds `draft`: tells the room, at most every {@link TYPING_THROTTLE_MS}. */
  typed(draft: string): void {
    const now = this.#deps.clock.now();
    if (!draft.trim() || now - this.#lastTypingSent < TYPING_THROTTLE_MS) {
      return;
    }
    if (this.#send({ type: "typing" })) this.#lastTypingSent = now;
  }

  /** Asks for the page of messages before the oldest shown (once at a time). */
  loadOlder(): void {
    if (this.#loadingOlder) return;
    this.#loadingOlder = this.#send({
      type: "history",
      before: this.#timeline.oldest || Number.MAX_SAFE_INTEGER,
      limit: DEFAULT_PAGE_SIZE,
    });
    if (this.#loadingOlder) this.#changed();
  }

  /** Back online: try now instead of waiting out the backoff. */
  readonly #onOnline = (): void => {
    const conn = this.#conn;
    if (conn.status !== "reconnecting" || conn.socket !== null) return;
    if (conn.retry !== null) this.#deps.clock.clearTimeout(conn.retry);
    this.#conn = { ...conn, socket: this.#open(), retry: null };
  };

  #open(): WebSocketLike {
    const ws = this.#deps.connect(this.#options.url);
    ws.onopen = () => {
      const conn = this.#conn;
      if (conn.status === "reconnecting" && this.#isCurrent(ws)) {
        this.#conn = { ...conn, attempt: 0 };
      }
    };
    ws.onmessage = (event) => {
      if (this.#isCurrent(ws)) this.#receive(ws, event.data);
    };
    ws.onclose = (event) => {
      if (this.#isCurrent(ws)) this.#closed(event.code);
    };
    return ws;
  }

  #isCurrent(ws: WebSocketLike): boolean {
    return "socket" in this.#conn && this.#conn.socket === ws;
  }

  #closed(code: number): void {
    const conn = this.#conn;
    this.#resume = "idle";
    // Nothing answers a request made on a socket that closed.
    this.#loadingOlder = false;
    if (TERMINAL_CLOSE_CODES.has(code)) {
      this.#conn = { status: "signed-out" };
      this.#notice = SESSION_ENDED_NOTICE;
    } else {
      const attempt = conn.status === "reconnecting" ? conn.attempt : 0;
      const delay = reconnectDelay(attempt, this.#deps.random());
      const retry = this.#deps.clock.setTimeout(this.#retry, delay);
      this.#conn = {
        status: "reconnecting",
        attempt: attempt + 1,
        socket: null,
        retry,
      };
    }
    this.#changed();
  }

  readonly #retry = (): void => {
    const conn = this.#conn;
    if (conn.status !== "reconnecting") return;
    this.#conn = { ...conn, socket: this.#open(), retry: null };
  };

  #send(frame: ClientFrame): boolean {
    const socket = "socket" in this.#conn ? this.#conn.socket : null;
    if (!socket || socket.readyState !== SOCKET_OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** One frame from the server: a bad one is reported and ignored. */
  #receive(socket: WebSocketLike, data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) {
      this.#deps.log("bad frame from server");
      return;
    }
    try {
      this.#handle(frame, socket);
    } catch (err) {
      this.#deps.log("bad frame from server", err);
    }
  }

  /** Applies one frame that arrived on `socket` (the current one). */
  #handle(frame: ServerFrame, socket: WebSocketLike): void {
    switch (frame.type) {
      case "welcome": {
        const before = this.#timeline.messages.length;
        this.#timeline.welcome(frame.history, frame.lastSeq);
        // A send whose confirmation was lost is already in the history: not pending any more.
        this.#outbox.confirm(frame.history.map((m) => m.clientId));
        this.#conn = { status: "live", socket };
        this.#notice = null;
        this.#changed(this.#newer(before, false));
        this.#requestResume(false);
        // Everything written while offline goes out now; the server dedups by clientId.
        for (const p of this.#outbox.items) {
          this.#send({ type: "message", text: p.text, clientId: p.clientId });
        }
        return;
      }
      case "message": {
        const { message } = frame;
        const mine = message.user.id === this.#options.user.id;
        const before = this.#timeline.messages.length;
        if (this.#timeline.add([message]) && !mine) {
          this.#emit({ type: "incoming", message });
        }
        this.#typing.clear(message.user.id);
        this.#outbox.confirm([message.clientId]);
        this.#changed(this.#newer(before, mine));
        this.#requestResume(false);
        return;
      }
      case "history": {
        const before = this.#timeline.messages.length;
        if (frame.direction === "newer") {
          const owed = this.#resume === "owed";
          this.#resume = "idle";
          this.#timeline.addNewer(frame.messages, frame.hasMore);
          this.#outbox.confirm(frame.messages.map((m) => m.clientId));
          this.#changed(this.#newer(before, false));
          this.#requestResume(owed);
        } else {
          this.#timeline.add(frame.messages);
          this.#olderAvailable = frame.hasMore;
          this.#loadingOlder = false;
          const added = this.#timeline.messages.length - before;
          this.#changed({ direction: "older", mine: false, added });
        }
        return;
      }
      case "presence": {
        const before = this.#presence;
        this.#presence = nextPresence(before, frame);
        this.#changed();
        // The full state (right after welcome) is not news; diffs are.
        if (frame.state) return;
        const text = activityLine(
          presenceChanges(before, this.#presence, this.#options.user.id),
        );
        if (text) {
          this.#emit({ type: "activity", text, at: this.#deps.clock.now() });
        }
        return;
      }
      case "typing":
        this.#typing.show(
          frame.userId,
          frame.name,
          this.#deps.clock.now() + frame.ttl,
        );
        this.#scheduleTypingExpiry();
        this.#changed();
        return;
      case "resync":
        this.#requestResume(true);
        return;
      case "error":
        this.#notice = frame.message;
        this.#changed();
        return;
      case "pong":
        return;
      default:
        unreachable(frame);
    }
  }

  /**
   * Asks for what is missing after the timeline's contiguous `seq`: when it
   * has a gap, or always when `force`d (a `resync`). One resume at a time; a
   * forced one during another is owed until that one is answered.
   */
  #requestResume(force: boolean): void {
    if (this.#resume !== "idle") {
      if (force) this.#resume = "owed";
      return;
    }
    if (!(force || this.#timeline.hasGap)) return;
    const sent = this.#send({
      type: "resume",
      after: this.#timeline.contiguous,
    });
    this.#resume = sent ? "in-flight" : "idle";
  }

  #newer(before: number, mine: boolean): TimelineChange {
    const added = this.#timeline.messages.length - before;
    return { direction: "newer", mine, added };
  }

  /** Typing indicators expire on their own (sent with a ttl, never stored). */
  #scheduleTypingExpiry(): void {
    this.#clearTypingExpiry();
    const next = this.#typing.nextExpiry;
    if (next === null) return;
    const { clock } = this.#deps;
    this.#typingExpiry = clock.setTimeout(() => {
      this.#typingExpiry = null;
      if (this.#typing.expire(clock.now())) this.#changed();
      this.#scheduleTypingExpiry();
    }, Math.max(0, next - clock.now()));
  }

  #clearTypingExpiry(): void {
    if (this.#typingExpiry === null) return;
    this.#deps.clock.clearTimeout(this.#typingExpiry);
    this.#typingExpiry = null;
  }

  #snapshot(): RoomView {
    return {
      status: this.#conn.status,
      messages: this.#timeline.messages,
      pending: this.#outbox.items,
      presence: this.#presence,
      typing: this.#typing.names,
      olderAvailable: this.#olderAvailable,
      loadingOlder: this.#loadingOlder,
      notice: this.#notice,
    };
  }

  #changed(timeline?: TimelineChange): void {
    this.#view = this.#snapshot();
    this.#emit({ type: "change", view: this.#view, timeline });
  }

  #emit(event: RoomEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

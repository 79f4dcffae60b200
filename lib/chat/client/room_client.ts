/**
 * The live connection to one room, without any UI framework: one socket with
 * jittered, capped reconnects and an application heartbeat; what each close
 * code means; messages merged by `seq` in a {@link Timeline}, each socket
 * opened with `?after=` the timeline's contiguous `seq` (the server answers
 * with what followed, not the page this client has) and any gap asked for
 * with `resume`; an outbox of pending messages paced under the
 * server's budget and sent again after a reconnect; sign-in and sign-out
 * handled in place and shared with the browser's other tabs; typing and
 * presence. The island renders its {@link RoomView}; tests drive it with a
 * fake socket and a fake clock.
 *
 * @module
 */

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
  type EventRequest,
  MAX_MESSAGE_CHARS,
  type ModerationRequest,
  parseServerFrame,
  type ReportRequest,
  type ServerFrame,
  type StandingView,
  TYPING_THROTTLE_MS,
  unreachable,
} from "../protocol.ts";
import { Timeline } from "../timeline.ts";
import type {
  ChatMessage,
  ChatUser,
  PresenceState,
  RoomInfo,
} from "../types.ts";
import { closeOutcome } from "./close_codes.ts";
import {
  resumeUrl,
  type RoomClientDeps,
  SOCKET_OPEN,
  type TimerId,
  type WebSocketLike,
} from "./dependencies.ts";
import {
  legacyOutboxKeys,
  Outbox,
  outboxKey,
  type PendingMessage,
} from "./outbox.ts";
import { SendPacer } from "./pacer.ts";
import type { SessionEvent } from "./session_channel.ts";
import { TypingIndicators } from "./typing.ts";

/** What the status bar shows. */
export type RoomStatus = Connection["status"];

/** Why the client is signed out: the server ended the session, refused the socket, or another tab signed out. */
export type SignedOutReason = "session-ended" | "refused" | "elsewhere";

/**
 * Between sockets: `retry` is the backoff timer while waiting, `socket` the
 * attempt under way; `attempt` counts the failures since a socket last
 * opened.
 */
interface Retrying {
  attempt: number;
  socket: WebSocketLike | null;
  retry: TimerId | null;
}

/**
 * The connection and what each state holds. `connecting` is the first
 * attempt (no socket before {@link RoomClient.start}), or the first after
 * signing in; `reconnecting` waits out a backoff or tries a socket;
 * `offline` is the same while the browser says it has no network, and may
 * `hold` the socket that was live until a ping proves it dead (or alive).
 * `signed-out`, `kicked`, `banned` and `no-access` wait for the user.
 */
type Connection =
  | { status: "connecting"; socket: WebSocketLike | null }
  | { status: "live"; socket: WebSocketLike }
  | ({ status: "reconnecting" } & Retrying)
  | ({ status: "offline"; held: boolean } & Retrying)
  | { status: "signed-out"; reason: SignedOutReason }
  | { status: "kicked" }
  | { status: "banned" }
  | { status: "no-access" };

/**
 * Recovery with `resume`: none asked, one asked, or one asked and another
 * owed once it is answered (a `resync` came meanwhile, and the answer may
 * predate what was lost).
 */
type Resume = "idle" | "in-flight" | "owed";

/** A notice and whether it is about going too fast (cleared once sending works again). */
interface Notice {
  text: string;
  rate: boolean;
}

/** The timers a socket's life uses, all cleared when it ends. */
type SocketTimer = "ping" | "pong" | "pump" | "resume" | "older";

/** Everything the room's UI shows, replaced (never mutated) on each change. */
export interface RoomView {
  readonly status: RoomStatus;
  /** Who this client is (the last one signed in, while signed out). */
  readonly user: ChatUser;
  /** Stored messages in `seq` order. */
  readonly messages: readonly ChatMessage[];
  /** Written here, not yet confirmed by the server. */
  readonly pending: readonly PendingMessage[];
  /** Pending messages the server refused for good, by `clientId`: why. */
  readonly failures: Readonly<Record<string, string>>;
  readonly presence: PresenceState;
  /** Names of the people typing. */
  readonly typing: readonly string[];
  /** Whether older messages than the first shown exist. */
  readonly olderAvailable: boolean;
  /** A page of older messages was asked for and not answered yet. */
  readonly loadingOlder: boolean;
  /** A problem to show the user, or `null`. */
  readonly notice: string | null;
  /** The room's owner and settings (null until the server tells them). */
  readonly room: RoomInfo | null;
  /** This person's role and mute in the room. */
  readonly standing: StandingView;
  /** Open reports (moderators only; 0 for everyone else). */
  readonly reports: number;
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
  /**
   * The socket's URL or, in the browser, its path (see `roomSocketPath`);
   * each socket adds `?after=` (see `resumeUrl`).
   */
  url: string;
  /** Who is signed in. */
  user: ChatUser;
  /** Recent messages rendered on the server. */
  history: readonly ChatMessage[];
  /** Whether older messages exist. */
  hasMore: boolean;
  /** Where the outbox is kept; {@link outboxKey} of the room by default. */
  outboxKey?: string;
}

/**
 * Between pings while live: a dead path (a half-open TCP connection, a
 * network that went away without a word) is noticed within
 * {@link HEARTBEAT_INTERVAL_MS} + {@link PONG_TIMEOUT_MS} = 30 s, and idle
 * proxies never see a silent minute. The server answers one ping per 5 s.
 */
export const HEARTBEAT_INTERVAL_MS = 25_000;
/** How long a ping may go unanswered before the socket counts as dead. */
export const PONG_TIMEOUT_MS = 5_000;
/**
 * After the server closed the socket for flooding (`CloseCode.rateLimited`):
 * the pause before reconnecting, and before sending again.
 */
export const FLOOD_PAUSE_MS = 5_000;
/** When a `rate_limited` refusal names no `retryAfter`. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** What the browser reports when a socket ended without a close frame (never sent). */
const ABNORMAL_CLOSURE = 1006;

/** Shown once the server ended the session (a terminal close code). */
export const SESSION_ENDED_NOTICE =
  "Your session ended. Sign in again to keep chatting.";
/** Shown when the socket was refused and the server says nobody is signed in. */
export const SIGNED_OUT_NOTICE =
  "You're signed out. Sign in again to keep chatting.";
/** Shown when another tab of this browser signed out. */
export const SIGNED_OUT_ELSEWHERE_NOTICE =
  "You signed out in another tab. Sign in again to keep chatting.";
/** Shown after the server closed the socket for flooding (never a sign-out). */
export const FLOOD_CLOSED_NOTICE =
  "You were sending too fast, so the connection was paused. Reconnecting in a moment…";
/** Shown when the server refused a message for going too fast; it is sent again by itself. */
export const TOO_FAST_NOTICE =
  "You are sending too fast: your messages will go out in a moment.";
/** Shown after a moderator removed this client from the room. */
export const KICKED_NOTICE =
  "A moderator removed you from this room. You can rejoin.";
/** Shown when an edit, delete or reaction is tried while the room is not live. */
export const NOT_LIVE_NOTICE = "Not connected: try again in a moment.";
/** Shown after a ban (terminal). */
export const BANNED_NOTICE = "You are banned from this room.";
/** Shown when the room became members-only without this person (terminal). */
export const NO_ACCESS_NOTICE =
  "This room is for its members only now, and you are not one of them.";

/** The notice of each close that waits for the user. */
const STOPPED_NOTICES = {
  banned: BANNED_NOTICE,
  kicked: KICKED_NOTICE,
  "no-access": NO_ACCESS_NOTICE,
} as const;

const SIGNED_OUT_NOTICES: Record<SignedOutReason, string> = {
  "session-ended": SESSION_ENDED_NOTICE,
  refused: SIGNED_OUT_NOTICE,
  elsewhere: SIGNED_OUT_ELSEWHERE_NOTICE,
};

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
  readonly #pacer = new SendPacer();
  #user: ChatUser;
  #conn: Connection = { status: "connecting", socket: null };
  #resume: Resume = "idle";
  #presence: PresenceState = emptyPresence();
  #olderAvailable: boolean;
  #loadingOlder = false;
  #notice: Notice | null = null;
  #room: RoomInfo | null = null;
  #standing: StandingView = { role: null, mute: null };
  #reports = 0;
  /** Pending messages sent on the current socket, awaiting the server's copy. */
  readonly #sent = new Set<string>();
  #failures: Readonly<Record<string, string>> = {};
  #lastTypingSent = 0;
  #typingExpiry: TimerId | null = null;
  readonly #timers: Record<SocketTimer, TimerId | null> = {
    ping: null,
    pong: null,
    pump: null,
    resume: null,
    older: null,
  };
  /** A session check is under way. */
  #checking = false;
  #stopped = false;
  #unsubscribeSession: (() => void) | null = null;
  #view: RoomView;

  constructor(options: RoomClientOptions, deps: RoomClientDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#user = options.user;
    this.#outbox = new Outbox(
      deps.storage,
      options.outboxKey ?? outboxKey(options.room),
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

  /**
   * Loads the outbox a previous page left (taking in one saved under an
   * older key), connects, and listens for `online`/`offline` and for the
   * other tabs' sign-ins and sign-outs.
   */
  start(): void {
    const { storage, network, session } = this.#deps;
    this.#outbox.load(
      this.#options.outboxKey === undefined
        ? legacyOutboxKeys(storage, this.#options.room, this.#user.id)
        : [],
    );
    this.#changed();
    network?.addEventListener("online", this.#onOnline);
    network?.addEventListener("offline", this.#onOffline);
    this.#unsubscribeSession = session?.subscribe(this.#onSession) ?? null;
    const socket = this.#open();
    this.#conn = this.#deps.online()
      ? { status: "connecting", socket }
      : { status: "offline", held: false, attempt: 0, socket, retry: null };
    if (this.#conn.status === "offline") this.#changed();
  }

  /** Closes the socket and stops every timer: nothing is sent or received after. */
  stop(): void {
    this.#stopped = true;
    this.#deps.network?.removeEventListener("online", this.#onOnline);
    this.#deps.network?.removeEventListener("offline", this.#onOffline);
    this.#unsubscribeSession?.();
    this.#unsubscribeSession = null;
    this.#clearTypingExpiry();
    this.#endSocket();
  }

  /**
   * Sends a message, or keeps it pending until the room is live. Returns
   * false when `text` was not accepted (blank, or too long: then the view's
   * notice says why), so the composer keeps it. Messages go out in order,
   * paced under the server's budget.
   */
  post(text: string, replyTo?: number): boolean {
    const trimmed = text.trim();
    if (!trimmed) return false;
    if (trimmed.length > MAX_MESSAGE_CHARS) {
      this.#notice = {
        text: `Messages are limited to ${MAX_MESSAGE_CHARS} characters.`,
        rate: false,
      };
      this.#changed();
      return false;
    }
    const clientId = this.#deps.newId();
    this.#outbox.add({
      clientId,
      text: trimmed,
      ts: this.#deps.clock.now(),
      ...(replyTo === undefined ? {} : { replyTo }),
    });
    this.#changed();
    this.#pump();
    return true;
  }

  /**
   * Edits, deletes or reacts to a stored message. Sent at once, or not at
   * all: returns false (and says so in the notice) while the room is not
   * live, so the user tries again rather than acting on a stale view. The
   * server checks who may; a refusal comes back as the notice.
   *
   * @example
   * ```ts
   * client.act({ type: "react", target: 12, emoji: "👍", on: true });
   * ```
   */
  act(request: EventRequest): boolean {
    if (request.type === "edit") {
      const text = request.text.trim();
      if (!text || text.length > MAX_MESSAGE_CHARS) return false;
      request = { ...request, text };
    }
    const sent = this.#send({ ...request, clientId: this.#deps.newId() });
    if (!sent) {
      this.#notice = { text: NOT_LIVE_NOTICE, rate: false };
      this.#changed();
    }
    return sent;
  }

  /**
   * Sends a moderation request (mute, unmute, kick, ban, unban) or a report
   * of a message; the server checks the role and answers a refusal with an
   * `error` (shown as the notice). Returns false when not live.
   *
   * @example
   * ```ts
   * client.moderate({ type: "moderate", action: "mute", user: { id, name }, minutes: 10 });
   * client.moderate({ type: "report", target: 12, reason: "spam" });
   * ```
   */
  moderate(
    request:
      | ({ type: "moderate" } & ModerationRequest)
      | ({ type: "report" } & ReportRequest),
  ): boolean {
    const sent = this.#send({ ...request, clientId: this.#deps.newId() });
    if (!sent) {
      this.#notice = { text: NOT_LIVE_NOTICE, rate: false };
      this.#changed();
    }
    return sent;
  }

  /**
   * Sends a pending message again now (or, while disconnected, tries to
   * reconnect now); a message refused for good is tried once more.
   */
  retry(clientId: string): void {
    if (!this.#outbox.has(clientId)) return;
    this.#sent.delete(clientId);
    if (clientId in this.#failures) {
      const { [clientId]: _, ...rest } = this.#failures;
      this.#failures = rest;
      this.#changed();
    }
    const conn = this.#conn;
    if (
      (conn.status === "reconnecting" || conn.status === "offline") &&
      conn.socket === null
    ) {
      this.#reconnectNow();
      return;
    }
    this.#pump();
  }

  /** Gives up on a pending message: it leaves the outbox and is not sent again. */
  discard(clientId: string): void {
    if (!this.#outbox.discard(clientId)) return;
    this.#sent.delete(clientId);
    const { [clientId]: _, ...rest } = this.#failures;
    this.#failures = rest;
    this.#changed();
  }

  /**
   * Someone signed in on this page (the inline sign-in): tells the other
   * tabs, and connects as `user` — the outbox then goes out as theirs.
   */
  signedIn(user: ChatUser): void {
    this.#deps.session?.post({ type: "signed-in", user });
    this.#adopt(user);
  }

  /** After a moderator removed this client: joins the room again. */
  rejoin(): void {
    if (this.#conn.status !== "kicked") return;
    this.#notice = null;
    this.#connectAfresh();
  }

  /**
   * The composer now holds `draft`: tells the room, at most every
   * {@link TYPING_THROTTLE_MS} (sending a message does not start the window
   * over, so typing between quick messages stays within the server's budget).
   */
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
    this.#clearTimer("older");
    this.#loadingOlder = this.#send({
      type: "history",
      before: this.#timeline.oldest || Number.MAX_SAFE_INTEGER,
      limit: DEFAULT_PAGE_SIZE,
    });
    if (this.#loadingOlder) this.#changed();
  }

  /** Back online: try now instead of waiting out the backoff (a socket kept while offline is replaced). */
  readonly #onOnline = (): void => {
    const conn = this.#conn;
    if (conn.status === "offline" && conn.held) {
      this.#reconnectNow();
      return;
    }
    if (conn.status !== "reconnecting" && conn.status !== "offline") return;
    if (conn.socket !== null) {
      // An attempt is under way: let it finish.
      if (conn.status === "offline") {
        this.#conn = { ...conn, status: "reconnecting" };
        this.#changed();
      }
      return;
    }
    this.#reconnectNow();
  };

  /**
   * The browser lost its network: say so at once. A live socket is kept
   * and pinged (the network may still reach the server, e.g. on this
   * machine); nothing is sent on it until it answers.
   */
  readonly #onOffline = (): void => {
    const conn = this.#conn;
    switch (conn.status) {
      case "live":
        this.#clearTimer("pump");
        this.#conn = {
          status: "offline",
          held: true,
          attempt: 0,
          socket: conn.socket,
          retry: null,
        };
        this.#probe();
        break;
      case "connecting":
        this.#conn = {
          status: "offline",
          held: false,
          attempt: 0,
          socket: conn.socket,
          retry: null,
        };
        break;
      case "reconnecting":
        this.#conn = { ...conn, status: "offline", held: false };
        break;
      case "offline":
      case "signed-out":
      case "kicked":
      case "banned":
      case "no-access":
        return;
      default:
        unreachable(conn);
    }
    this.#changed();
  };

  /** News from another tab of this browser. */
  readonly #onSession = (event: SessionEvent): void => {
    switch (event.type) {
      case "signed-out": {
        const { status } = this.#conn;
        if (status !== "signed-out" && status !== "banned") {
          this.#signOut("elsewhere", false);
        }
        return;
      }
      case "signed-in":
        this.#adopt(event.user);
        return;
      default:
        unreachable(event);
    }
  };

  /**
   * Opens a socket, saying (`?after=`) how far the timeline holds the room's
   * log: the server then answers with what followed instead of the latest
   * page, which this client has (the rendered page, or its last socket).
   */
  #open(): WebSocketLike {
    const timeline = this.#timeline;
    const ws = this.#deps.connect(
      resumeUrl(
        this.#options.url,
        timeline.started ? timeline.contiguous : null,
      ),
    );
    let opened = false;
    ws.onopen = () => {
      opened = true;
      const conn = this.#conn;
      if (
        (conn.status === "reconnecting" || conn.status === "offline") &&
        this.#isCurrent(ws)
      ) {
        this.#conn = { ...conn, attempt: 0 };
      }
    };
    ws.onmessage = (event) => {
      if (this.#isCurrent(ws)) this.#receive(ws, event.data);
    };
    ws.onclose = (event) => {
      if (this.#isCurrent(ws)) this.#closed(event.code, opened);
    };
    return ws;
  }

  #isCurrent(ws: WebSocketLike): boolean {
    return "socket" in this.#conn && this.#conn.socket === ws;
  }

  /** The current socket ended with `code`; `opened` says whether it ever opened. */
  #closed(code: number, opened: boolean): void {
    const conn = this.#conn;
    this.#socketEnded();
    const attempt = "attempt" in conn ? conn.attempt : 0;
    const outcome = closeOutcome(code);
    switch (outcome) {
      case "signed-out":
        this.#signOut("session-ended", true);
        return;
      case "banned":
      case "kicked":
      case "no-access":
        this.#conn = { status: outcome };
        this.#presence = emptyPresence();
        this.#notice = { text: STOPPED_NOTICES[outcome], rate: false };
        this.#changed();
        return;
      case "flood":
        // Not a sign-out: pause, then come back and send slower.
        this.#pacer.pause(FLOOD_PAUSE_MS, this.#deps.clock.now());
        this.#notice = { text: FLOOD_CLOSED_NOTICE, rate: true };
        this.#wait(
          "reconnecting",
          attempt,
          FLOOD_PAUSE_MS + reconnectDelay(0, this.#deps.random()),
        );
        return;
      case "reconnect": {
        // A close the server sent proves the network works; only one without
        // a close frame keeps a browser that is offline on Offline.
        const offline = conn.status === "offline" && code === ABNORMAL_CLOSURE;
        this.#wait(
          offline ? "offline" : "reconnecting",
          attempt,
          reconnectDelay(attempt, this.#deps.random()),
        );
        // Refused before the upgrade (a 401 shows as 1006 without open): ask why.
        if (!opened) this.#askSession();
        return;
      }
      default:
        unreachable(outcome);
    }
  }

  /** Waits `delay` ms before the next attempt. */
  #wait(
    status: "reconnecting" | "offline",
    attempt: number,
    delay: number,
  ): void {
    const retry = this.#deps.clock.setTimeout(this.#retry, delay);
    const next = { attempt: attempt + 1, socket: null, retry };
    this.#conn = status === "offline"
      ? { status, held: false, ...next }
      : { status, ...next };
    this.#changed();
  }

  readonly #retry = (): void => {
    const conn = this.#conn;
    if (conn.status !== "reconnecting" && conn.status !== "offline") return;
    this.#conn = { ...conn, socket: this.#open(), retry: null };
  };

  /** Drops the backoff (and any socket kept offline) and tries a socket now. */
  #reconnectNow(): void {
    const conn = this.#conn;
    if (conn.status !== "reconnecting" && conn.status !== "offline") return;
    const attempt = conn.attempt;
    this.#endSocket();
    this.#conn = {
      status: "reconnecting",
      attempt,
      socket: this.#open(),
      retry: null,
    };
    this.#changed();
  }

  /** Ends whatever connection there is and starts one from scratch. */
  #connectAfresh(): void {
    this.#endSocket();
    this.#conn = { status: "connecting", socket: this.#open() };
    this.#changed();
  }

  /**
   * Stops the current socket (its events are ignored from now on), the
   * backoff timer and the socket's timers.
   */
  #endSocket(): void {
    const conn = this.#conn;
    if ("retry" in conn && conn.retry !== null) {
      this.#deps.clock.clearTimeout(conn.retry);
      this.#conn = { ...conn, retry: null };
    }
    const socket = "socket" in conn ? conn.socket : null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      try {
        socket.close();
      } catch { /* already closed */ }
    }
    this.#socketEnded();
  }

  /** What a socket's end takes with it: its timers, what was sent on it, requests it would answer. */
  #socketEnded(): void {
    for (const name of Object.keys(this.#timers) as SocketTimer[]) {
      this.#clearTimer(name);
    }
    this.#sent.clear();
    this.#resume = "idle";
    // Nothing answers a request made on a socket that closed.
    this.#loadingOlder = false;
  }

  #signOut(reason: SignedOutReason, announce: boolean): void {
    this.#endSocket();
    this.#conn = { status: "signed-out", reason };
    // Who is here is not known to someone who is not there.
    this.#presence = emptyPresence();
    this.#notice = { text: SIGNED_OUT_NOTICES[reason], rate: false };
    if (announce) this.#deps.session?.post({ type: "signed-out" });
    this.#changed();
  }

  /**
   * `user` is who this browser is signed in as now (signed in here, in
   * another tab, or found by a session check): connect as them unless this
   * client already is.
   */
  #adopt(user: ChatUser): void {
    const other = user.id !== this.#user.id;
    this.#user = user;
    const conn = this.#conn;
    switch (conn.status) {
      case "signed-out":
        this.#notice = null;
        this.#connectAfresh();
        return;
      case "kicked":
      case "banned":
      case "no-access":
      case "live":
      case "connecting":
        if (other) {
          this.#notice = null;
          this.#connectAfresh();
        } else this.#changed();
        return;
      case "reconnecting":
      case "offline":
        if (conn.socket === null || conn.status === "offline" && conn.held) {
          this.#reconnectNow();
        } else this.#changed();
        return;
      default:
        unreachable(conn);
    }
  }

  /** Asks the server whether this browser is still signed in (once at a time). */
  #askSession(): void {
    if (this.#checking) return;
    this.#checking = true;
    this.#deps.checkSession().then((result) => {
      this.#checking = false;
      const { status } = this.#conn;
      const between = status === "reconnecting" || status === "offline" ||
        status === "connecting";
      if (this.#stopped || !between) return;
      if (result.status === "signed-out") this.#signOut("refused", true);
      else if (
        result.status === "signed-in" && result.user.id !== this.#user.id
      ) this.#adopt(result.user);
    }, (err) => {
      this.#checking = false;
      this.#deps.log("session check failed", err);
    });
  }

  /** Pings now (unless a ping is unanswered) and expects an answer within {@link PONG_TIMEOUT_MS}. */
  #probe(): void {
    if (this.#timers.pong !== null) return;
    if (!this.#send({ type: "ping" })) return;
    this.#setTimer("pong", this.#noAnswer, PONG_TIMEOUT_MS);
  }

  /** Pings every {@link HEARTBEAT_INTERVAL_MS} while the socket lives. */
  #heartbeat(): void {
    this.#setTimer("ping", () => {
      this.#probe();
      this.#heartbeat();
    }, HEARTBEAT_INTERVAL_MS);
  }

  /** A ping went unanswered: the path is dead; reconnect. */
  readonly #noAnswer = (): void => {
    this.#timers.pong = null;
    const conn = this.#conn;
    if (!("socket" in conn) || conn.socket === null) return;
    this.#deps.log("no answer to ping: reconnecting");
    const socket = conn.socket;
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      socket.close();
    } catch { /* already closed */ }
    this.#closed(ABNORMAL_CLOSURE, true);
  };

  #setTimer(name: SocketTimer, fn: () => void, ms: number): void {
    this.#clearTimer(name);
    this.#timers[name] = this.#deps.clock.setTimeout(() => {
      this.#timers[name] = null;
      fn();
    }, ms);
  }

  #clearTimer(name: SocketTimer): void {
    const id = this.#timers[name];
    if (id === null) return;
    this.#deps.clock.clearTimeout(id);
    this.#timers[name] = null;
  }

  /**
   * Sends what is pending, in order, while live and the pacer allows; when
   * it does not, comes back when it will.
   */
  #pump(): void {
    this.#clearTimer("pump");
    if (this.#conn.status !== "live") return;
    for (const p of this.#outbox.items) {
      if (this.#sent.has(p.clientId) || p.clientId in this.#failures) continue;
      const now = this.#deps.clock.now();
      const wait = this.#pacer.wait(now);
      if (wait === null) return;
      if (wait > 0) {
        this.#setTimer("pump", () => this.#pump(), wait);
        return;
      }
      const frame: ClientFrame = {
        type: "message",
        text: p.text,
        clientId: p.clientId,
      };
      if (p.replyTo !== undefined) frame.replyTo = p.replyTo;
      if (!this.#send(frame)) {
        return;
      }
      this.#pacer.take(now);
      this.#sent.add(p.clientId);
    }
  }

  /** Pending messages the server stored: no longer pending, and sending works. */
  #confirm(clientIds: Iterable<string>): void {
    const ids = [...clientIds];
    if (!this.#outbox.confirm(ids)) return;
    for (const id of ids) this.#sent.delete(id);
    if (ids.some((id) => id in this.#failures)) {
      this.#failures = Object.fromEntries(
        Object.entries(this.#failures).filter(([id]) => !ids.includes(id)),
      );
    }
    if (this.#notice?.rate) this.#notice = null;
  }

  /** An `error` frame: a refused message, resume or page is retried or marked; anything else is a notice. */
  #refused(frame: Extract<ServerFrame, { type: "error" }>): void {
    const limited = frame.code === "rate_limited";
    const retryAfter = Math.max(0, frame.retryAfter ?? DEFAULT_RETRY_AFTER_MS);
    const refused = frame.refused;
    switch (refused) {
      case "message": {
        const id = frame.clientId;
        if (id === undefined || !this.#outbox.has(id)) break;
        this.#sent.delete(id);
        if (limited) {
          // Sent again, in order, once the server has room for it.
          this.#pacer.pause(retryAfter, this.#deps.clock.now());
          this.#notice = { text: TOO_FAST_NOTICE, rate: true };
          this.#pump();
        } else {
          this.#failures = { ...this.#failures, [id]: frame.message };
        }
        this.#changed();
        return;
      }
      case "resume":
        if (!limited) break;
        this.#resume = "idle";
        this.#setTimer("resume", () => this.#requestResume(true), retryAfter);
        return;
      case "history":
        if (!limited) break;
        this.#loadingOlder = false;
        this.#setTimer("older", () => this.loadOlder(), retryAfter);
        this.#changed();
        return;
      case "edit":
      case "delete":
      case "react":
      case "moderate":
      case "report":
      case "typing":
      case "ping":
      case undefined:
        break;
      default:
        unreachable(refused);
    }
    this.#notice = { text: frame.message, rate: limited };
    this.#changed();
  }

  #send(frame: ClientFrame): boolean {
    const socket = "socket" in this.#conn ? this.#conn.socket : null;
    if (!socket || socket.readyState !== SOCKET_OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** One frame from the server: a bad one is reported and ignored. */
  #receive(socket: WebSocketLike, data: unknown): void {
    // Anything from the server answers the heartbeat.
    this.#clearTimer("pong");
    const conn = this.#conn;
    if (conn.status === "offline" && conn.held) {
      // The socket kept while offline still reaches the server.
      this.#conn = { status: "live", socket };
      this.#changed();
      this.#pump();
    }
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
        const { you, rate } = frame;
        if (typeof you?.id === "string" && typeof you.name === "string") {
          this.#user = you;
        }
        if (rate?.burst > 0 && rate.perSecond > 0) {
          this.#pacer.setRate(rate, this.#deps.clock.now());
        }
        const before = this.#timeline.messages.length;
        this.#timeline.welcome(frame.history, frame.lastSeq);
        // A send whose confirmation was lost is already in the history: not pending any more.
        this.#confirm(frame.history.map((m) => m.clientId));
        this.#conn = { status: "live", socket };
        this.#notice = null;
        this.#changed(this.#newer(before, false));
        // Opened with `?after=`: the server answers that resume itself.
        if (frame.resumeFrom !== undefined) this.#resume = "in-flight";
        else this.#requestResume(false);
        this.#heartbeat();
        // Everything written meanwhile goes out now, paced; the server dedups by clientId.
        this.#pump();
        return;
      }
      case "message": {
        const { message } = frame;
        const mine = message.user.id === this.#user.id;
        const before = this.#timeline.messages.length;
        if (this.#timeline.add([message]) && !mine) {
          this.#emit({ type: "incoming", message });
        }
        this.#typing.clear(message.user.id);
        this.#confirm([message.clientId]);
        this.#changed(this.#newer(before, mine));
        this.#requestResume(false);
        return;
      }
      case "history": {
        const before = this.#timeline.messages.length;
        if (frame.direction === "newer") {
          const owed = this.#resume === "owed";
          this.#resume = "idle";
          this.#timeline.addNewer(
            frame.messages,
            frame.hasMore,
            frame.events ?? [],
          );
          this.#confirm(frame.messages.map((m) => m.clientId));
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
      case "event":
        if (this.#timeline.apply([frame.event])) this.#changed();
        this.#requestResume(false);
        return;
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
        this.#refused(frame);
        return;
      case "pong":
        return;
      case "room":
        this.#room = frame.info;
        this.#changed();
        return;
      case "standing":
        this.#standing = { role: frame.role, mute: frame.mute };
        if (!frame.role || frame.role === "member") this.#reports = 0;
        this.#changed();
        return;
      case "reports":
        this.#reports = frame.count;
        this.#changed();
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
      user: this.#user,
      messages: this.#timeline.messages,
      pending: this.#outbox.items,
      failures: this.#failures,
      presence: this.#presence,
      typing: this.#typing.names,
      olderAvailable: this.#olderAvailable,
      loadingOlder: this.#loadingOlder,
      notice: this.#notice?.text ?? null,
      room: this.#room,
      standing: this.#standing,
      reports: this.#reports,
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

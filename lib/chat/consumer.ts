/**
 * The connection handler ("consumer"): one per WebSocket. It joins the room's
 * group, validates every frame, stores a message before sending it to the
 * group, answers `resume` and `history` from the store (and, for a socket
 * opened with `?after=`, answers that resume itself right after `welcome`),
 * and always leaves the group when the socket closes or errors.
 *
 * @module
 */

import { CloseCode, FramePrefix } from "../shared.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type {
  MessageStore,
  RevocationStore,
  RoomAccess,
  RoomStore,
} from "../store/types.ts";
import {
  type Channel,
  type ChannelLayer,
  newChannelName,
  RESYNC_FRAME,
} from "./layer.ts";
import {
  type ClientFrame,
  type ControlFrame,
  DEFAULT_PAGE_SIZE,
  encodeServerFrame,
  type ErrorCode,
  errorFrame,
  MAX_PAGE_SIZE,
  moderates,
  type ModerationRequest,
  parseClientFrame,
  rateLimited,
  type Refusal,
  type RefusedFrame,
  type ReportRequest,
  type ServerFrame,
  type StandingView,
  TYPING_TTL_MS,
  unreachable,
} from "./protocol.ts";
import type { ChatUser, RoomInfo, RoomRole, Standing } from "./types.ts";
import { canSeeRoom } from "./access.ts";
import {
  createOnEntry,
  MAX_REPORTS_LISTED,
  moderate,
  report,
  roomInfoOf,
  spendAction,
  standingView,
} from "./moderation.ts";
import {
  canPost,
  type KnownAccess,
  postEvent,
  type PostingPolicy,
  postMessage,
  type PostOrder,
} from "./post.ts";
import { sharedReads, type WelcomePage } from "./room_reads.ts";
import type { ChatSocket } from "../ws/upgrade.ts";
import type { PresenceTracker } from "./presence_tracker.ts";
import { type Budgets, takeRead } from "./budgets.ts";
import {
  INVALID_BURST,
  INVALID_RATE_PER_S,
  type KeyedBuckets,
  MAX_RATE_VIOLATIONS,
  takeAll,
  TokenBucket,
} from "./rate_limit.ts";

/**
 * Most log entries a socket opened with `?after=` may have missed and still
 * get only what follows `after`: a client further behind (a laptop back from
 * a weekend) is shown the room as it is now first — the full welcome, whose
 * page is {@link DEFAULT_PAGE_SIZE} entries — and fills the gap behind it
 * with `resume`, rather than watching old messages arrive page by page.
 */
export const MAX_AFTER_GAP = DEFAULT_PAGE_SIZE;

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/**
 * Whether a socket opened with `?after=` is answered from `after` (a welcome
 * without history, then what follows `after`) rather than with the full
 * welcome: `after` is a point in the log up to `head`, at most
 * {@link MAX_AFTER_GAP} behind it. An `after` past the head (the store was
 * reset) is not a point in this log, and one further behind would see old
 * messages first.
 *
 * @example
 * ```ts
 * resumesFromAfter(120, 120); // true: nothing missed
 * resumesFromAfter(121, 120); // false: past the head
 * ```
 */
export function resumesFromAfter(after: number, head: number): boolean {
  return after <= head && head - after <= MAX_AFTER_GAP;
}

/**
 * What a welcome tells of the room's log: its head (`lastSeq`) and latest
 * page, or (a socket answered from its `?after=`) its head alone, with
 * `resumeFrom`.
 */
type WelcomeLog =
  & { lastSeq: number }
  & (
    | { kind: "page"; page: WelcomePage }
    | { kind: "resume"; resumeFrom: number }
  );

/**
 * `encodeServerFrame` of a welcome, with the page's shared encoding of its
 * history; with `resumeFrom` (the client holds the log up to it) the history
 * is empty and an answer to `resume {after: resumeFrom}` follows.
 */
function welcomeJson(
  user: ChatUser,
  room: string,
  log: WelcomeLog,
  rate: ConsumerLimits,
): string {
  let told: string;
  switch (log.kind) {
    case "page":
      told =
        `"history":${log.page.historyJson},"hasMore":${log.page.hasMore},` +
        `"lastSeq":${log.lastSeq}`;
      break;
    case "resume":
      told = `"history":[],"hasMore":false,"lastSeq":${log.lastSeq},` +
        `"resumeFrom":${log.resumeFrom}`;
      break;
    default: {
      const _exhaustive: never = log;
      throw new Error(`unknown welcome log ${JSON.stringify(_exhaustive)}`);
    }
  }
  return `{"type":"welcome","you":${JSON.stringify(user)},"room":${
    JSON.stringify(room)
  },${told},"rate":${JSON.stringify(rate)}}`;
}

/** The answer to every `ping`, encoded once. */
const PONG = encodeServerFrame({ type: "pong" });

/** A socket with more than this queued for sending is a slow reader and is closed (1013). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/** What the consumer needs from the app. */
export interface ConsumerDeps {
  layer: ChannelLayer;
  store: MessageStore;
  log: Logger;
  limits: ConsumerLimits;
  presence: PresenceTracker;
  metrics: Metrics;
  /** Budgets per person, address and room, shared with the HTTP routes. */
  budgets: Budgets;
  /** Who may post. */
  posting: PostingPolicy;
  /** Room settings, roles, mutes, bans, reports, audit. */
  rooms: RoomStore;
  /** Bind a guest's ban to their address too (see `ModerationDeps`). */
  bindGuestAddresses: boolean;
  /** Keeps each person's posts in order through the room checks. */
  postOrder: PostOrder;
}

/** A person's message budget, as `welcome` tells it to the client (which paces itself under it). */
export interface ConsumerLimits {
  /** Messages allowed in a burst. */
  burst: number;
  /** Sustained messages per second. */
  perSecond: number;
}

/** Who is connected where (the connection's scope, as in Django Channels). */
export interface ConsumerScope {
  room: string;
  /** The client's address. */
  ip: string;
  user: ChatUser;
  /** The session the socket was opened with. */
  sessionId: string;
  /** When that session was asked about revocations before the upgrade (`performance.now()`). */
  sessionCheckedAt: number;
  /** When that session expires, ms since the epoch. */
  expiresAt: number;
  /**
   * The `seq` the client holds the room's log up to (`?after=`), or
   * undefined: the welcome carries the latest page (see `Connection.#open`).
   */
  after?: number;
}

/**
 * Longest time between two re-checks that ask about every live session,
 * whatever the revocation generation says, ms: a revocation that did not move
 * it (a process of an older release during a rolling deploy) still closes its
 * sockets within this.
 */
export const FULL_SESSION_SWEEP_MS = 60_000;

/** Live connections of this instance, for shutdown, sign-out and the connection caps. */
export class ConnectionRegistry {
  readonly #sockets = new Map<ChatSocket, ConsumerScope>();
  // Counted as sockets come and go, so a cap check costs O(1), not a scan of every socket.
  readonly #perUser = new Map<string, number>();
  readonly #perIp = new Map<string, number>();
  #emptyWaiters: (() => void)[] = [];
  /** The revocation generation every socket but {@link #unswept} was last checked at. */
  #sweptGeneration: string | null | undefined = undefined;
  /** When every socket was last asked about (see {@link FULL_SESSION_SWEEP_MS}). */
  #sweptAllAt = -Infinity;
  /**
   * When the first re-check read that saw {@link #sweptGeneration} finished
   * (`performance.now()`): no revocation was stored since that read, or the
   * generation would have moved.
   */
  #generationSeenAt = -Infinity;
  /**
   * Sockets added since the last re-check read the generation. One whose
   * session was asked about before the generation it was swept at was first
   * seen may have missed a revocation that moved it there, so the next
   * re-check asks about it; one asked about after it saw every revocation
   * stored before, and a later one moves the generation. (Comparing with the
   * last re-check's read instead asked again about every socket of a storm
   * that outlasted a re-check: 8,900 of a 10,000-socket storm's 18,900 keys
   * read, with nothing revoked.)
   */
  #unswept = new Set<ChatSocket>();

  add(socket: ChatSocket, scope: ConsumerScope): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.set(socket, scope);
    this.#unswept.add(socket);
    bump(this.#perUser, scope.user.id, 1);
    bump(this.#perIp, scope.ip, 1);
  }

  delete(socket: ChatSocket): void {
    const scope = this.#sockets.get(socket);
    if (!scope) return;
    this.#sockets.delete(socket);
    this.#unswept.delete(socket);
    bump(this.#perUser, scope.user.id, -1);
    bump(this.#perIp, scope.ip, -1);
    if (this.#sockets.size === 0) {
      for (const resolve of this.#emptyWaiters.splice(0)) resolve();
    }
  }

  /** Resolves when no socket is left, or after `timeoutMs`, whichever comes first. */
  drained(timeoutMs: number): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#emptyWaiters.push(done);
    });
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Open sockets of user `id`. */
  countUser(id: string): number {
    return this.#perUser.get(id) ?? 0;
  }

  /** Open sockets from address `ip`. */
  countIp(ip: string): number {
    return this.#perIp.get(ip) ?? 0;
  }

  /**
   * Closes (`CloseCode.sessionEnded`) every socket whose session has expired or was revoked on
   * any instance. Returns how many. Asks the store about every socket only
   * when a revocation happened since the last time (its generation moved) or
   * {@link FULL_SESSION_SWEEP_MS} passed; otherwise only about the sockets
   * added since.
   */
  async enforceSessions(
    revocations: RevocationStore,
    now: number = Date.now(),
  ): Promise<number> {
    const fresh = this.#unswept;
    this.#unswept = new Set();
    const seenAt = this.#generationSeenAt;
    let revoked: Set<string>;
    try {
      const generation = await revocations.generation();
      const readAt = performance.now();
      const moved = generation !== this.#sweptGeneration;
      const all = moved || now - this.#sweptAllAt >= FULL_SESSION_SWEEP_MS;
      const sids = new Set<string>();
      for (const socket of all ? this.#sockets.keys() : fresh) {
        const scope = this.#sockets.get(socket);
        if (scope && (all || scope.sessionCheckedAt <= seenAt)) {
          sids.add(scope.sessionId);
        }
      }
      revoked = sids.size
        ? await revocations.revokedAmong([...sids])
        : new Set<string>();
      this.#sweptGeneration = generation;
      if (moved) this.#generationSeenAt = readAt;
      if (all) this.#sweptAllAt = now;
    } catch (err) {
      // Not checked: asked about again next time.
      for (const socket of fresh) {
        if (this.#sockets.has(socket)) this.#unswept.add(socket);
      }
      this.#sweptGeneration = undefined;
      throw err;
    }
    return this.closeWhere(
      (s) => s.expiresAt <= now || revoked.has(s.sessionId),
      CloseCode.sessionEnded,
      "session ended",
    );
  }

  /** Closes every socket matching `filter` with `code`. Returns how many. */
  closeWhere(
    filter: (scope: ConsumerScope) => boolean,
    code: number,
    reason: string,
  ): number {
    let n = 0;
    for (const [socket, scope] of this.#sockets) {
      if (!filter(scope)) continue;
      try {
        socket.close(code, reason);
      } catch { /* already closing */ }
      n++;
    }
    return n;
  }
}

/**
 * Runs the chat protocol on an upgraded `socket` for `scope`.
 *
 * @example
 * ```ts
 * const { socket, response } = Deno.upgradeWebSocket(req);
 * handleConnection(socket, { room: "general", user }, deps, registry);
 * return response;
 * ```
 */
export function handleConnection(
  socket: ChatSocket,
  scope: ConsumerScope,
  deps: ConsumerDeps,
  registry: ConnectionRegistry,
): void {
  const connection = new Connection(socket, scope, deps, registry);
  // Counted from the upgrade, not from `open`: the caps checked before the
  // upgrade then see every socket already promised, so parallel handshakes
  // cannot slip past them.
  registry.add(socket, scope);
  for (const type of ["open", "message", "close", "error"]) {
    socket.addEventListener(type, connection);
  }
}

/**
 * One socket's state and handlers. A class with `handleEvent` rather than a
 * function of closures: one object per idle socket instead of a dozen
 * closures and their contexts (memory per socket is measured in `bench/`).
 * It is also the socket's {@link Channel} in the group layer.
 */
class Connection implements Channel, EventListenerObject {
  /** Named after this instance, so presence can tell whose connection it is. */
  readonly name: string;
  readonly #since = Date.now();
  /** Made on first use: most sockets never send an invalid frame. */
  #invalidBucket: TokenBucket | null = null;
  /** Typing frames start with the typist's id, so their own sockets skip them unparsed. */
  #ownTyping: string | null = null;
  /** Group frames that arrive before `welcome` wait here so `welcome` comes first. */
  #early: string[] | null = [];
  /**
   * The welcome's head (`lastSeq`) while the welcome is all this socket was
   * told of the room's log: null before the welcome, and for good once any
   * frame but presence or typing (a message, an event, a `resync`) was
   * relayed to it. See {@link Connection.#answeredByWelcome}.
   */
  #welcomeHead: number | null = null;
  #relayedLog = false;
  #violations = 0;
  /** This person's role in the room, kept current by `standing` control frames. */
  #role: RoomRole | null = null;
  /** The room's record as last told (null: none, an ownerless public room). */
  #info: RoomInfo | null = null;
  /** Until when this person is muted (ms; null = until lifted), or undefined when not. */
  #mutedUntil: number | null | undefined = undefined;
  /** This person's mute as last told (with its reason), for refusing their posts. */
  #mute: StandingView["mute"] = null;
  /** Whether `#info`, `#role` and `#mute` hold the room's rules (read at join, then kept current). */
  #rulesKnown = false;
  #opened = false;
  #joined = false;
  #tracked = false;
  #closed = false;

  constructor(
    readonly socket: ChatSocket,
    readonly scope: ConsumerScope,
    readonly deps: ConsumerDeps,
    readonly registry: ConnectionRegistry,
  ) {
    this.name = newChannelName(deps.presence.instance);
  }

  handleEvent(event: Event): void {
    switch (event.type) {
      case "open":
        this.#open();
        return;
      case "message":
        this.#message(event as MessageEvent);
        return;
      default: // close, error
        this.#leave(event);
    }
  }

  /** From the group layer: a frame for this socket (delivered after `welcome`). */
  send(frame: string): void {
    if (frame.startsWith(FramePrefix.control)) {
      this.#control(frame);
      return;
    }
    if (frame.startsWith(FramePrefix.reports) && !moderates(this.#role)) return;
    if (frame.startsWith(FramePrefix.room) && !this.#roomChanged(frame)) return;
    if (frame.startsWith(FramePrefix.typing)) {
      this.#ownTyping ??= `${FramePrefix.typing},"userId":${
        JSON.stringify(this.scope.user.id)
      },`;
      if (frame.startsWith(this.#ownTyping)) return;
    } else if (!frame.startsWith(FramePrefix.presence)) {
      this.#relayedLog = true;
    }
    if (this.#early) this.#early.push(frame);
    else this.#sendRaw(frame);
    if (frame === RESYNC_FRAME && this.#rulesKnown) this.#recheck();
  }

  /**
   * After the layer lost frames for the room (a `resync`), the rules this
   * socket keeps may be stale — a ban's close, a mute, a role, the settings
   * were notices on the same group: they are read again from the store and
   * applied as their notices would have been (closed if banned or no longer
   * allowed in; the client told its room and standing).
   */
  #recheck(): void {
    const { room, user, ip } = this.scope;
    this.deps.rooms.access(room, user.id, ip).then((access) => {
      if (this.#closed || this.socket.readyState !== WebSocket.OPEN) return;
      if (access.standing.ban) {
        this.socket.close(CloseCode.banned, "banned from this room");
        return;
      }
      if (!this.#mayStay(access.info, access.standing.role)) return;
      this.#tellRules(access.info, access.standing);
    }).catch((err) => {
      this.deps.log.warn("ws.recheck_failed", { room, error: String(err) });
    });
  }

  /**
   * A control frame from any instance: acts on it when it names this
   * connection's person (closes, or tells the client its new standing).
   */
  #control(raw: string): void {
    let frame: ControlFrame;
    try {
      frame = JSON.parse(raw) as ControlFrame;
    } catch {
      return;
    }
    const { room, user, ip } = this.scope;
    if (frame.userId !== user.id) return;
    switch (frame.op) {
      case "close": {
        if (frame.ban && this.deps.bindGuestAddresses) {
          // A guest ban also binds the address the guest is here from.
          this.deps.rooms.sanction(room, { ...frame.ban, address: ip }).catch(
            (err) =>
              this.deps.log.error("moderation.bind_failed", {
                room,
                error: String(err),
              }),
          );
        }
        this.deps.log.info("ws.removed", {
          room,
          user: user.id,
          code: frame.code,
        });
        try {
          this.socket.close(frame.code, frame.reason);
        } catch { /* already closing */ }
        return;
      }
      case "standing": {
        this.#role = frame.standing.role;
        this.#mutedUntil = frame.standing.mute?.until;
        this.#mute = frame.standing.mute;
        if (!this.#mayStay()) return;
        const out = encodeServerFrame({ type: "standing", ...frame.standing });
        if (this.#early) this.#early.push(out);
        else this.#sendRaw(out);
        return;
      }
      default:
        unreachable(frame);
    }
  }

  /**
   * The room's record changed (settings, owner): keeps it, and whether this
   * socket may still see the room (false: closed, nothing forwarded).
   */
  #roomChanged(raw: string): boolean {
    try {
      this.#info = (JSON.parse(raw) as { info: RoomInfo }).info;
    } catch {
      return true;
    }
    return this.#mayStay();
  }

  /**
   * Whether this person may still see the room (`canSeeRoom`): a room made
   * private, or a membership taken away, closes the socket of whoever is no
   * longer a member — on every instance, as the change reaches each by the
   * room's group — with `noAccess` (4005: the client stops and offers the
   * page again, which says whether they were let back in).
   */
  #mayStay(
    info: RoomInfo | null = this.#info,
    role: RoomRole | null = this.#role,
  ): boolean {
    const { room, user } = this.scope;
    if (canSeeRoom(room, info, role, user)) return true;
    this.deps.log.info("ws.no_longer_member", { room, user: user.id });
    try {
      this.socket.close(
        CloseCode.noAccess,
        "This room is for its members only.",
      );
    } catch { /* already closing */ }
    return false;
  }

  /** Sends `frame`; parts (`string[]`) are one message, sent as fragments where the socket can. */
  #sendRaw(frame: string | readonly string[]): void {
    const { socket, deps } = this;
    if (socket.readyState !== WebSocket.OPEN) return;
    // A reader that stopped reading is cut off (it resumes from the store later)
    // rather than buffering without bound or slowing its room.
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      deps.log.warn("ws.slow_reader_closed", {
        room: this.scope.room,
        buffered: socket.bufferedAmount,
      });
      deps.metrics.drop("slow_reader");
      socket.close(CloseCode.tryAgain, "too far behind; reconnect and resume");
      // Leave now: a peer that does not read never answers the close, so the
      // close event (and with it `leave`) would not come while it holds on.
      this.#leave(new CloseEvent("close", { code: CloseCode.tryAgain }));
      return;
    }
    if (typeof frame === "string") socket.send(frame);
    else if (socket.sendParts) socket.sendParts(frame);
    else socket.send(frame.join(""));
    deps.metrics.frameOut();
  }

  #sendFrame(frame: ServerFrame): void {
    this.#sendRaw(encodeServerFrame(frame));
  }

  /**
   * Counts a frame over budget; past {@link MAX_RATE_VIOLATIONS} the socket
   * is closed as flooding (a code the client reconnects from, slower).
   * Returns true when it closed.
   */
  #overBudget(): boolean {
    if (++this.#violations <= MAX_RATE_VIOLATIONS) return false;
    this.deps.log.warn("ws.flood_closed", {
      room: this.scope.room,
      user: this.scope.user.id,
    });
    this.socket.close(CloseCode.rateLimited, "rate limit exceeded");
    return true;
  }

  /** Answers a refused frame, naming it; rate-limit refusals count toward a flood. */
  #refuse(refusal: Refusal, refused: RefusedFrame): void {
    if (refusal.code === "rate_limited" && this.#overBudget()) return;
    const frame = errorFrame(
      refusal.code,
      refusal.message,
      refusal.retryAfter,
      refused,
    );
    if (refusal.until !== undefined && frame.type === "error") {
      frame.until = refusal.until;
    }
    this.#sendFrame(frame);
  }

  /**
   * Takes a token of the person's read budget; over it, the read is refused
   * with `rate_limited` (naming it, so the client retries after
   * `retryAfter`) and counts toward a flood.
   */
  #readAllowed(type: "resume" | "history"): boolean {
    const wait = takeRead(
      this.deps.budgets,
      this.scope.user.id,
      this.scope.ip,
    );
    if (wait === 0) return true;
    this.deps.metrics.drop("rate_limited");
    this.#refuse(rateLimited(wait), { type });
    return false;
  }

  /**
   * Takes a token for a frame that needs no answer (`typing`, `ping`). Over
   * budget the frame is dropped without a word: a person never causes it
   * (clients throttle these), so a warning would only confuse them.
   */
  #takeQuietly(budget: KeyedBuckets, perAddress?: KeyedBuckets): boolean {
    const wait = perAddress
      ? takeAll([[budget, this.scope.user.id], [perAddress, this.scope.ip]])
      : budget.take(this.scope.user.id);
    if (wait === 0) return true;
    this.deps.metrics.drop("rate_limited");
    this.#overBudget();
    return false;
  }

  /**
   * Answers a frame that could not be used. A client bug sends a few; past
   * the connection's invalid-frame budget they count toward a flood, so a
   * peer spraying garbage is closed instead of costing a parse and an answer
   * per frame for ever.
   */
  #invalid(code: ErrorCode, message: string): void {
    this.#invalidBucket ??= new TokenBucket(INVALID_BURST, INVALID_RATE_PER_S);
    if (this.#invalidBucket.take() > 0) {
      this.deps.metrics.drop("invalid_frames");
      if (this.#overBudget()) return;
    }
    this.#sendFrame(errorFrame(code, message));
  }

  #leave(event?: Event): void {
    if (this.#closed) return;
    this.#closed = true;
    const { layer, log, metrics, presence } = this.deps;
    const { room, user } = this.scope;
    this.registry.delete(this.socket);
    if (this.#opened) {
      metrics.connectionClosed(event instanceof CloseEvent ? event.code : 1006);
    }
    if (this.#joined) {
      this.#joined = false;
      layer.groupDiscard(room, this).catch((err) =>
        log.error("layer.discard_failed", { room, error: String(err) })
      );
    }
    if (this.#tracked) {
      this.#tracked = false;
      presence.leave(room, user, this, this.#since).catch((err) =>
        log.error("presence.leave_failed", { room, error: String(err) })
      );
    }
  }

  async #open(): Promise<void> {
    const { layer, log, metrics, presence } = this.deps;
    const { room, user } = this.scope;
    this.#opened = true;
    metrics.connectionOpened();
    // The 101, the welcome batch and the resume answer as one write, where
    // they were three (a third of a reconnect's writes in a storm).
    this.socket.cork?.();
    try {
      await layer.groupAdd(room, this);
      this.#joined = true;
      // The socket may have closed while we were joining: leave at once.
      if (this.#closed) {
        this.#joined = false;
        await layer.groupDiscard(room, this);
        return;
      }
      // Reads of the room begun after this socket joined the group (once a
      // read turn is free: lib/batch.ts), shared with every newcomer asking
      // meanwhile.
      const history = this.#readLog();
      // Awaited below, after access: a failure meanwhile is not unhandled
      // (it would end the process), and every path below awaits or drops it.
      history.catch(() => {});
      // Read after joining the group: a ban stored before its kick was sent
      // is seen here, or the kick reaches this connection. Read alongside the
      // history; presence is joined only once it is known there is no ban.
      const access = await this.deps.rooms.access(
        room,
        user.id,
        this.scope.ip,
      );
      if (access.standing.ban) {
        const { ban } = access.standing;
        if (
          this.deps.bindGuestAddresses && user.kind === "guest" && !ban.address
        ) {
          await this.deps.rooms.sanction(room, {
            ...ban,
            address: this.scope.ip,
          });
        }
        this.socket.close(CloseCode.banned, "banned from this room");
        return;
      }
      // The route checked before the upgrade; a room made private, or a
      // membership taken away, since then must not get the welcome's page.
      if (!this.#mayStay(access.info, access.standing.role)) return;
      // Tracked as soon as the join is, so a close from here on (or a
      // failed history read, which closes the socket) leaves.
      const joined = presence.join(room, user, this, this.#since).then(
        async (frame) => {
          if (this.#closed) await presence.leave(room, user, this, this.#since);
          else this.#tracked = true;
          return frame;
        },
      );
      const [told, presenceFrame] = await Promise.all([history, joined]);
      if (this.#closed) return;
      this.#sendRaw(welcomeJson(user, room, told, this.deps.limits));
      this.#sendRaw(presenceFrame);
      this.#welcomeHead = told.lastSeq;
      await this.#sendRoom(access, told.lastSeq);
      // Before the group frames that waited: the answer, from a read begun
      // after this socket joined the group (and after the welcome's head), so
      // nothing stored before the join is missing from it, and whatever is
      // stored after reaches the socket live, after the answer (a frame
      // stored in between may come twice; the client folds by `seq` and
      // `rev`). A resume past the first page is asked for as today.
      if (told.kind === "resume") await this.#resume(told.resumeFrom);
      const pending = this.#early ?? [];
      this.#early = null;
      for (const frame of pending) this.#sendRaw(frame);
      log.debug("ws.open", { room, channel: this.name });
    } catch (err) {
      log.error("ws.join_failed", { room, error: String(err) });
      this.socket.close(CloseCode.tryAgain, "join failed");
    } finally {
      this.socket.uncork?.();
    }
  }

  /**
   * What the welcome tells of the room's log, from reads begun within this
   * call (so after the socket joined the group: nothing appended before the
   * join can be missing) and shared with every newcomer of the room asking
   * meanwhile (room_reads.ts). A client that holds the log up to `after` is
   * not sent the latest page (it has it: the rendered page, or its last
   * socket) but what follows `after`, as `resume {after}` right after the
   * welcome would be answered: for that the head alone is read — in a
   * reconnect storm nearly every socket's case. Only if it is not answered
   * from `after` ({@link resumesFromAfter}), and for a socket without one,
   * is the latest page read: the full welcome.
   */
  async #readLog(): Promise<WelcomeLog> {
    const { room, after } = this.scope;
    const reads = sharedReads(this.deps.store);
    if (after !== undefined) {
      const head = await reads.head(room);
      if (resumesFromAfter(after, head)) {
        return { kind: "resume", lastSeq: head, resumeFrom: after };
      }
    }
    const page = await reads.welcome(room, DEFAULT_PAGE_SIZE);
    return { kind: "page", lastSeq: page.lastSeq, page };
  }

  /**
   * Answers `resume {after}` — a frame from the client, or the one a socket
   * opened with `?after=` is answered right after its welcome: a token of
   * the read budget (over it, `rate_limited` naming `resume`, which the
   * client asks again after), then the messages and events after `after`,
   * a page of at most {@link MAX_PAGE_SIZE} (`hasMore`: ask on from the
   * last).
   */
  async #resume(after: number): Promise<void> {
    if (!this.#readAllowed("resume")) return;
    // Nothing follows the largest seq (and the store cannot range past
    // it); nor anything this socket is not sent live (see below).
    const page = after >= Number.MAX_SAFE_INTEGER ||
        this.#answeredByWelcome(after)
      ? { messages: [], events: [], hasMore: false }
      : await sharedReads(this.deps.store).since(
        this.scope.room,
        after,
        MAX_PAGE_SIZE,
      );
    this.#sendFrame({
      type: "history",
      direction: "newer",
      messages: page.messages,
      events: page.events,
      hasMore: page.hasMore,
    });
  }

  /**
   * Whether a `resume {after}` is already answered: the client holds the log
   * up to the welcome's head or beyond, and nothing but the welcome was
   * relayed to this socket. The socket joined the room's group before the
   * welcome's head was read, so whatever is stored after that head reaches
   * it live — exactly what the store would add to the answer. A client that
   * missed a relayed frame (a gap, a `resync`) has been relayed something,
   * and is answered from the store (so is a socket opened with `?after=`
   * whose group frames waited for its welcome: they count as relayed). So
   * a socket opened with `?after=` the head — every reconnect after a
   * restart, in a room nobody wrote to meanwhile — costs no read beyond its
   * welcome's, nor does a `resume` from the head right after a full welcome.
   */
  #answeredByWelcome(after: number): boolean {
    return this.#welcomeHead !== null && !this.#relayedLog &&
      after >= this.#welcomeHead;
  }

  /**
   * The room's rules as this socket knows them (see `KnownAccess`), once
   * read at join; before that a post reads them from the store.
   */
  #known(): KnownAccess | undefined {
    return this.#rulesKnown
      ? { info: this.#info, standing: { role: this.#role, mute: this.#mute } }
      : undefined;
  }

  /** After `welcome`: the room's record, this person's standing and (moderators) the open reports. */
  /** Keeps `info` and `standing` as the room's rules this socket knows, and tells the client both. */
  #tellRules(info: RoomInfo | null, standing: Standing): void {
    const view = standingView(standing);
    this.#role = standing.role;
    this.#mutedUntil = standing.mute?.until;
    this.#mute = view.mute;
    this.#info = info;
    this.#rulesKnown = true;
    this.#sendFrame({ type: "room", info: roomInfoOf(this.scope.room, info) });
    this.#sendFrame({ type: "standing", ...view });
  }

  async #sendRoom(access: RoomAccess, lastSeq: number): Promise<void> {
    const { room, user, ip } = this.scope;
    const info = access.info ??
      await createOnEntry(this.deps, { room, user, address: ip }, lastSeq);
    const standing = info && !access.info && info.owner?.id === user.id
      ? { ...access.standing, role: "owner" as const }
      : access.standing;
    this.#tellRules(info, standing);
    if (moderates(standing.role)) {
      const open = await this.deps.rooms.reports(room, MAX_REPORTS_LISTED);
      this.#sendFrame({ type: "reports", count: open.length });
    }
  }

  #message(event: MessageEvent): void {
    // Once a close has begun (a flood, a slow reader, a sign-out), frames
    // still arriving are not acted on: nothing is stored that its sender
    // would never hear about.
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (typeof event.data !== "string") {
      this.#invalid(
        "binary_unsupported",
        "Only JSON text frames are accepted.",
      );
      return;
    }
    const parsed = parseClientFrame(event.data);
    if (!parsed.ok) {
      this.#invalid(parsed.code, parsed.message);
      return;
    }
    this.#onFrame(parsed.frame).catch((err) => {
      this.deps.log.error("ws.frame_failed", {
        room: this.scope.room,
        type: parsed.frame.type,
        error: String(err),
      });
      this.#sendFrame(
        errorFrame(
          "internal",
          "The server could not handle that frame; try again.",
        ),
      );
    });
  }

  async #onFrame(frame: ClientFrame): Promise<void> {
    const { layer, store } = this.deps;
    const { room, user } = this.scope;
    switch (frame.type) {
      case "message": {
        const posted = await postMessage(
          this.deps,
          {
            room,
            user,
            address: this.scope.ip,
            text: frame.text,
            clientId: frame.clientId,
            ...(frame.replyTo === undefined ? {} : { replyTo: frame.replyTo }),
            known: this.#known(),
          },
          this.deps.posting,
        );
        if (!posted.ok) {
          this.#refuse(posted, { type: "message", clientId: frame.clientId });
        } // A retry of a stored message: only the sender needs its copy back.
        else if (posted.duplicate) {
          this.#sendFrame({ type: "message", message: posted.message });
        }
        return;
      }
      case "edit":
      case "delete":
      case "react": {
        const { clientId, ...request } = frame;
        const posted = await postEvent(
          this.deps,
          {
            room,
            user,
            address: this.scope.ip,
            clientId,
            request,
            known: this.#known(),
          },
          this.deps.posting,
        );
        if (!posted.ok) {
          this.#refuse(posted, { type: frame.type, clientId });
        } // A retry of a stored event: only the sender needs it back.
        else if (posted.duplicate) {
          this.#sendFrame({ type: "event", event: posted.event });
        }
        return;
      }
      case "moderate":
      case "report": {
        const actor = { room, user, address: this.scope.ip };
        const { clientId, ...request } = frame;
        const spent = spendAction(this.deps, actor);
        if (spent) {
          this.#refuse(spent, { type: frame.type, clientId });
          return;
        }
        const done = frame.type === "moderate"
          ? await moderate(this.deps, actor, request as ModerationRequest)
          : await report(this.deps, actor, request as ReportRequest);
        if (!done.ok) this.#refuse(done, { type: frame.type, clientId });
        return;
      }
      case "typing": {
        if (!canPost(user, this.deps.posting)) return;
        // A muted person's typing would show them writing what cannot be sent.
        if (
          this.#mutedUntil !== undefined &&
          (this.#mutedUntil === null || this.#mutedUntil > Date.now())
        ) return;
        const { typing, typingPerAddress } = this.deps.budgets;
        if (!this.#takeQuietly(typing, typingPerAddress)) return;
        await layer.groupSend(room, {
          type: "typing",
          userId: user.id,
          name: user.name,
          ttl: TYPING_TTL_MS,
        });
        return;
      }
      case "ping": {
        if (this.#takeQuietly(this.deps.budgets.pings)) this.#sendRaw(PONG);
        return;
      }
      case "resume":
        await this.#resume(frame.after);
        return;
      case "history": {
        if (!this.#readAllowed("history")) return;
        const page = await store.before(room, frame.before, frame.limit);
        this.#sendFrame({
          type: "history",
          direction: "older",
          messages: page.messages,
          hasMore: page.hasMore,
        });
        return;
      }
      default:
        unreachable(frame);
    }
  }
}

/**
 * The storm scenario's clients (`bench/scenarios/storm.ts`): a WebSocket that
 * reconnects after the server closed it, with the session it had, and
 * recovers what it missed as the browser's `RoomClient` does — the room's
 * `Timeline` (`lib/chat/timeline.ts`, the client's own) takes the welcome's
 * history and every message; every socket after the first is opened with
 * `?after=` the timeline's contiguous `seq`, so the server answers with
 * what followed (a welcome with `resumeFrom` and no history, then the
 * answer), and a `resume {after}` asks for the rest. Plus
 * the check that, at the end, every client of a room holds exactly the
 * messages the room was sent: each once, none missing, in `seq` order.
 *
 * @module
 */

import { resumeUrl } from "../lib/chat/client/dependencies.ts";
import { Timeline } from "../lib/chat/timeline.ts";
import type { ChatMessage, RoomEvent } from "../lib/chat/types.ts";

/**
 * `gap`: resume only when the timeline has a gap (as `RoomClient`);
 * `always`: after every welcome — but one with `resumeFrom`, which the
 * server answers itself (as `RoomClient`, never a second resume).
 */
export type ResumeMode = "gap" | "always";

const PRESENCE_PREFIX = '{"type":"presence"';

/** Counters shared by every storm client. */
export class StormTally {
  /** Presence frames received while {@link measuring}, and their size (UTF-16 units). */
  presenceFrames = 0;
  presenceChars = 0;
  /** Welcome frames received while measuring, and their bytes (UTF-16 units). */
  welcomes = 0;
  welcomeChars = 0;
  /** `resume` frames sent while measuring. */
  resumes = 0;
  /** Welcomes with `resumeFrom` received while measuring: resumes the server answered itself. */
  resumedWelcomes = 0;
  /** Connect attempts that failed (closed or errored before `welcome`) while measuring. */
  failedAttempts = 0;
  measuring = false;
  readonly closes = new Map<number, number>();
  readonly errors = new Map<string, number>();
  badFrames = 0;

  /** Counts a close by code. */
  closed(code: number): void {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }

  /** Counts an `error` frame by code. */
  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}

/** How one socket of a {@link StormClient} ended. */
export interface SocketEnd {
  code: number;
  reason: string;
  /** Whether `welcome` came on it. */
  welcomed: boolean;
}

/**
 * One person in a room across restarts. {@link connect} opens a socket and
 * resolves at its `welcome`; the socket's end is reported to `onEnd`.
 * `target: "bare"` speaks to the bare server: a `welcome` is all it sends,
 * and there is nothing to recover.
 */
export class StormClient {
  readonly timeline = new Timeline();
  socket: WebSocket | null = null;
  /** `performance.now()` of the last welcome, and of catching up after it (0: not yet). */
  liveAt = 0;
  caughtUpAt = 0;
  /** The room's head this client must reach to be caught up (set by the scenario). */
  goal = 0;
  /** `performance.now()` when this client last posted, and when that message came back to it (0: not yet). */
  postedAt = 0;
  echoedAt = 0;
  #resumeInFlight = false;
  /** Messages this client sent, by clientId (to resend nothing and check everything). */
  readonly sent: string[] = [];

  constructor(
    readonly room: number,
    readonly id: string,
    readonly headers: Record<string, string>,
    readonly target: "roomcast" | "bare",
    readonly resume: ResumeMode,
    readonly tally: StormTally,
    readonly onEnd: (client: StormClient, end: SocketEnd) => void,
    readonly onCaughtUp: (client: StormClient) => void,
  ) {}

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** True once `welcome` came and nothing up to {@link goal} is missing. */
  get caughtUp(): boolean {
    return this.liveAt > 0 &&
      (this.target === "bare" ||
        (this.timeline.contiguous >= this.goal && !this.#resumeInFlight));
  }

  /**
   * Opens a socket to `url` with `origin` (the restarted server listens on
   * another port, so its own origin changes), with `?after=` the timeline's
   * contiguous `seq` once a welcome started it; resolves at its `welcome`,
   * rejects if it ends before.
   */
  connect(url: string, origin: string): Promise<void> {
    this.liveAt = 0;
    this.caughtUpAt = 0;
    this.#resumeInFlight = false;
    const timeline = this.timeline;
    // Deno's constructor takes `{ headers }`; the DOM lib only knows protocols.
    const socket = new WebSocket(
      resumeUrl(url, timeline.started ? timeline.contiguous : null),
      {
        headers: { ...this.headers, origin },
      } as unknown as string[],
    );
    this.socket = socket;
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      socket.onmessage = (e: MessageEvent) => {
        if (typeof e.data !== "string") {
          this.tally.badFrames++;
          return;
        }
        if (e.data.startsWith(PRESENCE_PREFIX)) {
          if (this.tally.measuring) {
            this.tally.presenceFrames++;
            this.tally.presenceChars += e.data.length;
          }
          return;
        }
        let frame;
        try {
          frame = JSON.parse(e.data);
        } catch {
          this.tally.badFrames++;
          return;
        }
        if (frame?.type === "welcome") {
          welcomed = true;
          if (this.tally.measuring) {
            this.tally.welcomes++;
            this.tally.welcomeChars += e.data.length;
          }
          this.#welcome(frame);
          resolve();
        } else this.#frame(frame);
      };
      socket.onclose = (e: CloseEvent) => {
        if (!welcomed) {
          reject(new Error(`closed (${e.code}) before welcome`));
        }
        // The end of a socket this client already gave up on is nobody's news.
        if (this.socket !== socket) return;
        this.socket = null;
        this.onEnd(this, { code: e.code, reason: e.reason, welcomed });
      };
      socket.onerror = () => {/* the close follows */};
    });
  }

  /** Sends one message; false if the socket is not open. */
  send(text: string, clientId: string): boolean {
    if (!this.open) return false;
    this.socket!.send(JSON.stringify({ type: "message", text, clientId }));
    this.sent.push(clientId);
    this.postedAt = performance.now();
    this.echoedAt = 0;
    return true;
  }

  #welcome(
    frame: { history?: ChatMessage[]; lastSeq?: number; resumeFrom?: number },
  ): void {
    this.liveAt = performance.now();
    if (this.target === "roomcast") {
      this.timeline.welcome(frame.history ?? [], frame.lastSeq ?? 0);
      // Opened with `?after=`: the server answers that resume itself.
      if (typeof frame.resumeFrom === "number") {
        this.#resumeInFlight = true;
        if (this.tally.measuring) this.tally.resumedWelcomes++;
      } else this.#recover(this.resume === "always");
    }
    this.#check();
  }

  #frame(frame: Record<string, unknown>): void {
    switch (frame?.type) {
      case "message": {
        const message = frame.message as ChatMessage;
        // Its own last post, stored and sent back to the room.
        if (
          this.echoedAt === 0 && this.postedAt > 0 &&
          message.clientId === this.sent.at(-1)
        ) this.echoedAt = performance.now();
        this.timeline.add([message]);
        this.#recover(false);
        break;
      }
      case "history":
        if (frame.direction !== "newer") break;
        this.#resumeInFlight = false;
        this.timeline.addNewer(
          frame.messages as ChatMessage[],
          frame.hasMore as boolean,
          (frame.events ?? []) as RoomEvent[],
        );
        this.#recover(frame.hasMore === true);
        break;
      case "resync":
        this.#recover(true);
        break;
      case "error":
        this.tally.error(String(frame.code));
        if (frame.code === "rate_limited") {
          const refused = frame.refused as { type?: string } | undefined;
          if (refused?.type === "resume") {
            this.#resumeInFlight = false;
            setTimeout(
              () => this.#recover(true),
              Number(frame.retryAfter) || 200,
            );
          }
        }
        break;
      default:
        break;
    }
    this.#check();
  }

  /** Asks for what is missing after the contiguous `seq` (one resume at a time). */
  #recover(force: boolean): void {
    if (this.#resumeInFlight || !this.open) return;
    if (!force && !this.timeline.hasGap) return;
    this.socket!.send(
      JSON.stringify({ type: "resume", after: this.timeline.contiguous }),
    );
    this.#resumeInFlight = true;
    if (this.tally.measuring) this.tally.resumes++;
  }

  #check(): void {
    if (this.caughtUpAt === 0 && this.caughtUp) {
      this.caughtUpAt = performance.now();
      this.onCaughtUp(this);
    }
  }

  /** Gives up on the current socket: it is closed, and its end is not reported. */
  abandon(): void {
    const socket = this.socket;
    this.socket = null;
    try {
      socket?.close(1000, "bench: abandoned");
    } catch { /* closing */ }
  }

  /** Closes the socket (the caller expects it). */
  close(): void {
    try {
      this.socket?.close(1000, "bench over");
    } catch { /* closing */ }
  }
}

/** What {@link checkRoom} found wrong in one room. */
export interface RoomCheck {
  /** Messages sent to the room that no client of it holds, summed over clients. */
  missing: number;
  /** Messages held twice (one clientId at two `seq`s), summed over clients. */
  duplicated: number;
  /** Clients whose messages are not exactly `1…expected` in order. */
  wrongOrder: number;
}

/**
 * Checks every client of a room against what the room was sent (`sent`:
 * every clientId once): each client must hold each of them exactly once,
 * nothing else, at `seq`s 1…`sent.length`.
 *
 * @example
 * ```ts
 * checkRoom([["a", "b"], ["a", "b"]], ["a", "b"]); // all zero
 * ```
 */
export function checkRoom(
  held: readonly (readonly { seq: number; clientId: string }[])[],
  sent: readonly string[],
): RoomCheck {
  const want = new Set(sent);
  const out: RoomCheck = { missing: 0, duplicated: 0, wrongOrder: 0 };
  for (const messages of held) {
    const seen = new Set<string>();
    let ordered = messages.length === want.size;
    messages.forEach((m, i) => {
      if (seen.has(m.clientId)) out.duplicated++;
      seen.add(m.clientId);
      if (m.seq !== i + 1) ordered = false;
    });
    for (const id of want) if (!seen.has(id)) out.missing++;
    if (!ordered) out.wrongOrder++;
  }
  return out;
}

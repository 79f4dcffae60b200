/**
 * What a {@link RoomClient} needs from the world — a socket, a clock and its
 * timers, randomness, storage, the browser's network events, the session
 * check, the channel between tabs, a logger — as small interfaces, so tests
 * hand it fakes and the island hands it the browser's own. Browser-safe:
 * nothing here runs until called.
 *
 * @module
 */

import type { ChatUser } from "../types.ts";
import type { StorageLike } from "./outbox.ts";
import { openSessionChannel, type SessionChannel } from "./session_channel.ts";

/** `WebSocket.OPEN`, spelled out so fakes need no `WebSocket` global. */
export const SOCKET_OPEN = 1;

/** The part of a browser `WebSocket` the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
}

/** A timer handle from {@link Clock.setTimeout}, opaque to the client. */
export type TimerId = unknown;

/** Time and timers, injected so tests control them. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** Where the browser announces `online` and `offline` (the window). */
export type NetworkEvents = Pick<
  EventTarget,
  "addEventListener" | "removeEventListener"
>;

/**
 * What `GET /api/session` said: who is signed in, nobody (401), or nothing
 * useful (unreachable, or any other answer).
 */
export type SessionCheck =
  | { status: "signed-in"; user: ChatUser }
  | { status: "signed-out" }
  | { status: "unknown" };

/** Where the session is asked for. */
export const SESSION_PATH = "/api/session";

/**
 * Asks the server who this browser's session is. A browser cannot read why
 * a WebSocket upgrade was refused, so after a connect that never opened the
 * client asks here to tell "signed out" from "server unreachable".
 *
 * @example
 * ```ts
 * await checkSession(fetch); // { status: "signed-out" } after a 401
 * ```
 */
export async function checkSession(
  fetcher: (url: string, init: RequestInit) => Promise<Response>,
  url: string = SESSION_PATH,
): Promise<SessionCheck> {
  try {
    const res = await fetcher(url, {
      cache: "no-store",
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (res.status === 401) {
      await res.body?.cancel();
      return { status: "signed-out" };
    }
    if (!res.ok) {
      await res.body?.cancel();
      return { status: "unknown" };
    }
    const body = await res.json();
    const user = body?.user;
    return typeof user?.id === "string" && typeof user?.name === "string"
      ? { status: "signed-in", user }
      : { status: "unknown" };
  } catch {
    return { status: "unknown" };
  }
}

/** Everything a {@link RoomClient} takes from outside. */
export interface RoomClientDeps {
  /** Opens a socket to `url`. */
  connect(url: string): WebSocketLike;
  clock: Clock;
  /** In [0, 1), for reconnect jitter. */
  random(): number;
  /** Where the outbox is kept; `null` keeps it in memory only. */
  storage: StorageLike | null;
  /** Source of `online` and `offline` events; `null` when there is none. */
  network: NetworkEvents | null;
  /** Whether the browser believes it has a network (`navigator.onLine`). */
  online(): boolean;
  /** Asks the server whether this browser is still signed in. */
  checkSession(): Promise<SessionCheck>;
  /** Sign-in and sign-out news to and from the browser's other tabs; `null` for none. */
  session: SessionChannel | null;
  /** A fresh `clientId` for each message. */
  newId(): string;
  /** Reports a problem; never given message text or tokens. */
  log(message: string, error?: unknown): void;
}

/**
 * `localStorage`, looked up on each call: constructing a client (the server
 * renders the island too) never touches it, and where storage is disabled
 * the calls throw, which the outbox tolerates.
 */
const browserStorage: StorageLike = {
  getItem: (key) => localStorage.getItem(key),
  setItem: (key, value) => localStorage.setItem(key, value),
  removeItem: (key) => localStorage.removeItem(key),
  key: (index) => localStorage.key(index),
  get length() {
    return localStorage.length;
  },
};

/**
 * The browser's own: `WebSocket` (a path is resolved against the page),
 * `Date.now` and timers, `Math.random`, `localStorage`, the window's events
 * and `navigator.onLine`, `fetch` of {@link SESSION_PATH}, a session channel
 * between tabs, `crypto.randomUUID`, `console.error`. Nothing is touched
 * until used.
 *
 * @example
 * ```ts
 * const client = new RoomClient(options, browserDependencies());
 * ```
 */
export function browserDependencies(): RoomClientDeps {
  return {
    connect: (url) => new WebSocket(socketUrl(url, location)),
    clock: {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) =>
        clearTimeout(id as Parameters<typeof clearTimeout>[0]),
    },
    random: () => Math.random(),
    storage: browserStorage,
    network: globalThis,
    online: () => navigator.onLine !== false,
    checkSession: () => checkSession((url, init) => fetch(url, init)),
    session: openSessionChannel(),
    newId: () => crypto.randomUUID(),
    log: (message, error) =>
      error === undefined
        ? console.error(message)
        : console.error(message, error),
  };
}

/**
 * The path of `room`'s socket.
 *
 * @example
 * ```ts
 * roomSocketPath("general"); // "/ws/chat/general"
 * ```
 */
export function roomSocketPath(room: string): string {
  return `/ws/chat/${encodeURIComponent(room)}`;
}

/**
 * The socket URL (or path) `url` with `?after=<after>`: the client holds the
 * room's log up to `after`, so the server's welcome skips the latest page
 * and it answers as it answers `resume {after}`. `null` (nothing held yet)
 * leaves `url` as it is.
 *
 * @example
 * ```ts
 * resumeUrl(roomSocketPath("general"), 42); // "/ws/chat/general?after=42"
 * resumeUrl("/ws/chat/general", null);      // "/ws/chat/general"
 * ```
 */
export function resumeUrl(url: string, after: number | null): string {
  if (after === null) return url;
  return `${url}${url.includes("?") ? "&" : "?"}after=${after}`;
}

/**
 * A socket URL for `url`: a path is taken on the page's own host, with `wss:`
 * under https; a `ws:` or `wss:` URL is kept.
 *
 * @example
 * ```ts
 * socketUrl("/ws/chat/general", location); // "wss://example.com/ws/chat/general"
 * ```
 */
export function socketUrl(
  url: string,
  page: Pick<Location, "protocol" | "host">,
): string {
  if (/^wss?:/.test(url)) return url;
  const scheme = page.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${page.host}${url}`;
}

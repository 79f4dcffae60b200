/**
 * What a {@link RoomClient} needs from the world — a socket, a clock and its
 * timers, randomness, storage, the browser's network events, a logger — as
 * small interfaces, so tests hand it fakes and the island hands it the
 * browser's own. Browser-safe: nothing here runs until called.
 *
 * @module
 */

import type { StorageLike } from "./outbox.ts";

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

/** Where the browser announces `online` (the window). */
export type NetworkEvents = Pick<
  EventTarget,
  "addEventListener" | "removeEventListener"
>;

/** Everything a {@link RoomClient} takes from outside. */
export interface RoomClientDeps {
  /** Opens a socket to `url`. */
  connect(url: string): WebSocketLike;
  clock: Clock;
  /** In [0, 1), for reconnect jitter. */
  random(): number;
  /** Where the outbox is kept; `null` keeps it in memory only. */
  storage: StorageLike | null;
  /** Source of `online` events; `null` when there is none. */
  network: NetworkEvents | null;
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
};

/**
 * The browser's own: `WebSocket` (a path is resolved against the page),
 * `Date.now` and timers, `Math.random`, `localStorage`, the window's events,
 * `crypto.randomUUID`, `console.error`. Nothing is touched until used.
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

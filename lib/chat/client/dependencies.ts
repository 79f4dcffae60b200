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

/** `localStorage`, or `null` where reading it throws (storage disabled). */
function browserStorage(): StorageLike | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * The browser's own: `WebSocket`, `Date.now` and timers, `Math.random`,
 * `localStorage`, the window's events, `crypto.randomUUID`, `console.error`.
 *
 * @example
 * ```ts
 * const client = new RoomClient(options, browserDependencies());
 * ```
 */
export function browserDependencies(): RoomClientDeps {
  return {
    connect: (url) => new WebSocket(url),
    clock: {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) =>
        clearTimeout(id as Parameters<typeof clearTimeout>[0]),
    },
    random: () => Math.random(),
    storage: browserStorage(),
    network: globalThis,
    newId: () => crypto.randomUUID(),
    log: (message, error) =>
      error === undefined
        ? console.error(message)
        : console.error(message, error),
  };
}

/**
 * The socket URL of `room` on the page's own host (`wss:` under https).
 *
 * @example
 * ```ts
 * roomSocketUrl("general", location); // "wss://example.com/ws/chat/general"
 * ```
 */
export function roomSocketUrl(
  room: string,
  page: Pick<Location, "protocol" | "host">,
): string {
  const scheme = page.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${page.host}/ws/chat/${encodeURIComponent(room)}`;
}

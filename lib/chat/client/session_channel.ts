/**
 * How the tabs of one browser tell each other about sign-in and sign-out: a
 * `BroadcastChannel`, or where there is none, `storage` events on a
 * `localStorage` key (plus a bus inside the page, since a page gets no
 * `storage` event for its own writes). Browser-safe; nothing is opened until
 * first used, so the server can render an island that holds one.
 *
 * @module
 */

import type { ChatUser } from "../types.ts";

/** What one tab tells the others. */
export type SessionEvent =
  /** Someone signed in here (the cookie now names `user`). */
  | { type: "signed-in"; user: ChatUser }
  /** The session ended here (signed out, or found to have ended). */
  | { type: "signed-out" };

/** One tab's end of the channel: what it posts reaches every other end, never itself. */
export interface SessionChannel {
  post(event: SessionEvent): void;
  /** Calls `listener` with every event another end posts. Returns the unsubscribe. */
  subscribe(listener: (event: SessionEvent) => void): () => void;
}

/** The channel's name and, for the fallback, its `localStorage` key. */
export const SESSION_CHANNEL_NAME = "roomcast:session";

/**
 * Checks a message from another tab: anything but a well-formed event is
 * `null`.
 *
 * @example
 * ```ts
 * parseSessionEvent({ type: "signed-out" }); // { type: "signed-out" }
 * parseSessionEvent({ type: "signed-in" });  // null (no user)
 * ```
 */
export function parseSessionEvent(data: unknown): SessionEvent | null {
  if (typeof data !== "object" || data === null) return null;
  const event = data as Record<string, unknown>;
  if (event.type === "signed-out") return { type: "signed-out" };
  if (event.type !== "signed-in") return null;
  const user = event.user as Record<string, unknown> | null | undefined;
  if (
    typeof user !== "object" || user === null ||
    typeof user.id !== "string" || typeof user.name !== "string" ||
    (user.kind !== "guest" && user.kind !== "google")
  ) return null;
  return { type: "signed-in", user: user as unknown as ChatUser };
}

/** The part of `BroadcastChannel` used. */
export interface BroadcastChannelLike {
  postMessage(data: unknown): void;
  addEventListener(type: "message", fn: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", fn: (event: MessageEvent) => void): void;
  close(): void;
}

/** Where a {@link SessionChannel} comes from, injected so both paths are tested. */
export interface SessionChannelHost {
  /** Opens a `BroadcastChannel`, or `null` where the browser has none. */
  broadcast: ((name: string) => BroadcastChannelLike) | null;
  /** For the fallback: `localStorage`, and the window its `storage` events reach. */
  storage: Pick<Storage, "setItem"> | null;
  events: Pick<EventTarget, "addEventListener" | "removeEventListener"> | null;
}

/** Ends of the fallback channel in this page: they get no `storage` event for each other. */
const pageBus = new EventTarget();

/**
 * One end of the session channel over what `host` gives (the browser's own by
 * default), looked up on first use.
 *
 * @example
 * ```ts
 * const channel = openSessionChannel();
 * const off = channel.subscribe((e) => { if (e.type === "signed-out") showSignIn(); });
 * channel.post({ type: "signed-in", user });
 * ```
 */
export function openSessionChannel(
  host: () => SessionChannelHost = browserHost,
): SessionChannel {
  // Chosen on first use: the server renders islands that hold a channel.
  let end: SessionChannel | null = null;
  const opened = () => {
    if (end) return end;
    const h = host();
    return end = h.broadcast ? broadcastEnd(h.broadcast) : storageEnd(h);
  };
  return {
    post: (event) => opened().post(event),
    subscribe: (listener) => opened().subscribe(listener),
  };
}

function broadcastEnd(
  open: (name: string) => BroadcastChannelLike,
): SessionChannel {
  let channel: BroadcastChannelLike | null = null;
  const listeners = new Set<(event: SessionEvent) => void>();
  const onMessage = (message: MessageEvent) => {
    const event = parseSessionEvent(message.data);
    if (event) { for (const listener of [...listeners]) listener(event); }
  };
  const opened = () => {
    if (!channel) {
      channel = open(SESSION_CHANNEL_NAME);
      channel.addEventListener("message", onMessage);
    }
    return channel;
  };
  return {
    post: (event) => opened().postMessage(event),
    subscribe(listener) {
      opened();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0 || !channel) return;
        channel.removeEventListener("message", onMessage);
        channel.close();
        channel = null;
      };
    },
  };
}

function storageEnd(host: SessionChannelHost): SessionChannel {
  const self = {};
  return {
    post(event) {
      // A nonce makes every write a change, so a repeated event still fires.
      const value = JSON.stringify({ ...event, nonce: Math.random() });
      try {
        host.storage?.setItem(SESSION_CHANNEL_NAME, value);
      } catch { /* storage disabled: only this page hears it */ }
      pageBus.dispatchEvent(
        new CustomEvent("session", { detail: { from: self, event } }),
      );
    },
    subscribe(listener) {
      const onStorage = (e: Event) => {
        const { key, newValue } = e as StorageEvent;
        if (key !== SESSION_CHANNEL_NAME || !newValue) return;
        let data: unknown = null;
        try {
          data = JSON.parse(newValue);
        } catch { /* not ours */ }
        const event = parseSessionEvent(data);
        if (event) listener(event);
      };
      const onPage = (e: Event) => {
        const { from, event } = (e as CustomEvent).detail;
        if (from !== self) listener(event);
      };
      host.events?.addEventListener("storage", onStorage);
      pageBus.addEventListener("session", onPage);
      return () => {
        host.events?.removeEventListener("storage", onStorage);
        pageBus.removeEventListener("session", onPage);
      };
    },
  };
}

/** The browser's: `BroadcastChannel` when it exists, else `localStorage` and the window. */
function browserHost(): SessionChannelHost {
  const hasBroadcast = typeof BroadcastChannel === "function";
  return {
    broadcast: hasBroadcast ? (name) => new BroadcastChannel(name) : null,
    storage: typeof localStorage === "undefined" ? null : localStorage,
    events: typeof addEventListener === "function" ? globalThis : null,
  };
}

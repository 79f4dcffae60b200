/**
 * Deno's own WebSocket (`LISTENER=deno`, Deno Deploy) with a close that
 * does not reset the connection. `WebSocket.close()` on a Deno server socket
 * sends the close frame and then stops reading: frames the peer had already
 * sent are left unread, so the kernel answers them with a TCP reset, which
 * can discard what the peer had not read yet — the `rate_limited` errors
 * and the close frame of a socket closed for flooding (the client saw 1006).
 *
 * {@link DrainingWebSocket} holds the close back instead: from `close()` on
 * it reports CLOSING and dispatches no more messages, but Deno keeps reading
 * (and it drops) what arrives, until the peer has been quiet for
 * {@link DRAIN_QUIET_MS} or {@link DRAIN_MAX_MS} have passed; only then is
 * the close frame sent. A peer that never stops sending is still cut off,
 * after {@link DRAIN_MAX_MS}. The guarded listener's socket
 * (`lib/ws/socket.ts`) needs none of this: it reads on after its close frame
 * until the peer's.
 *
 * @module
 */

import type { ChatSocket } from "./upgrade.ts";

/**
 * Quiet time that ends the drain. Frames sent "at once" reach the server
 * within a few milliseconds of each other on any link that delivers them at
 * all; a peer quiet this long has stopped.
 */
export const DRAIN_QUIET_MS = 100;
/** Longest drain: a peer that keeps sending is closed after this anyway (as the guarded socket's close timeout). */
export const DRAIN_MAX_MS = 2_000;

/** A close held back until the peer is quiet. */
interface PendingClose {
  code: number | undefined;
  reason: string | undefined;
  quiet: ReturnType<typeof setTimeout>;
  deadline: ReturnType<typeof setTimeout>;
}

/**
 * Wraps Deno's server-side `WebSocket` as a {@link ChatSocket} whose close
 * drains first.
 *
 * @example
 * ```ts
 * const { socket, response } = Deno.upgradeWebSocket(req);
 * handleConnection(new DrainingWebSocket(socket), scope, deps, registry);
 * ```
 */
export class DrainingWebSocket implements ChatSocket, EventListenerObject {
  #pending: PendingClose | null = null;
  /** The app's message listeners; the rest go straight to the socket. */
  readonly #messageListeners: EventListenerOrEventListenerObject[] = [];

  constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", this);
    socket.addEventListener("close", this);
  }

  get readyState(): number {
    return this.#pending && this.socket.readyState === WebSocket.OPEN
      ? WebSocket.CLOSING
      : this.socket.readyState;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  send(data: string): void {
    if (this.#pending) return;
    this.socket.send(data);
  }

  /** Stops dispatching messages; sends the close frame once the peer is quiet (or at the latest after {@link DRAIN_MAX_MS}). */
  close(code?: number, reason?: string): void {
    if (this.#pending) return;
    if (this.socket.readyState !== WebSocket.OPEN) {
      this.socket.close(code, reason);
      return;
    }
    this.#pending = {
      code,
      reason,
      quiet: setTimeout(() => this.#closeNow(), DRAIN_QUIET_MS),
      deadline: setTimeout(() => this.#closeNow(), DRAIN_MAX_MS),
    };
  }

  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
  ): void {
    if (type !== "message") {
      this.socket.addEventListener(type, listener);
    } else if (!this.#messageListeners.includes(listener)) {
      this.#messageListeners.push(listener);
    }
  }

  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
  ): void {
    if (type !== "message") {
      this.socket.removeEventListener(type, listener);
      return;
    }
    const at = this.#messageListeners.indexOf(listener);
    if (at >= 0) this.#messageListeners.splice(at, 1);
  }

  /** The socket's own message and close events. */
  handleEvent(event: Event): void {
    if (event.type === "close") {
      this.#clearTimers();
      return;
    }
    const pending = this.#pending;
    if (pending) {
      // Draining: dropped, and the quiet period starts again.
      clearTimeout(pending.quiet);
      pending.quiet = setTimeout(() => this.#closeNow(), DRAIN_QUIET_MS);
      return;
    }
    for (const listener of [...this.#messageListeners]) {
      if (typeof listener === "function") listener.call(this.socket, event);
      else listener.handleEvent(event);
    }
  }

  #closeNow(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#clearTimers();
    this.socket.close(pending.code, pending.reason);
  }

  #clearTimers(): void {
    if (!this.#pending) return;
    clearTimeout(this.#pending.quiet);
    clearTimeout(this.#pending.deadline);
  }
}

/**
 * How a route upgrades a request to a WebSocket, whichever server carries
 * it: the guarded listener (`lib/net/front.ts`) passes its own upgrader in
 * the request's environment (a socket with a message size limit); under a
 * plain `Deno.serve` (Deno Deploy, `LISTENER=deno`) it is Deno's own.
 *
 * @module
 */

import type { Context } from "hono";
import { DrainingWebSocket } from "./draining.ts";

/**
 * The part of `WebSocket` the chat consumer uses; Deno's `WebSocket` and
 * `GuardedWebSocket` both have it.
 */
export interface ChatSocket {
  /** `WebSocket.CONNECTING`, `OPEN`, `CLOSING` or `CLOSED`. */
  readonly readyState: number;
  /** Bytes queued for sending. */
  readonly bufferedAmount: number;
  send(data: string): void;
  /**
   * One text message as fragments, one per part, so a part many messages
   * share is encoded once (the guarded listener's sockets); a socket without
   * it is sent `parts.join("")`.
   */
  sendParts?(parts: readonly string[]): void;
  /**
   * Holds writes until {@link uncork} (the guarded listener's sockets), so
   * what is sent as the socket opens goes with the `101` in one write.
   */
  cork?(): void;
  /** Writes what {@link cork} held. */
  uncork?(): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
  ): void;
}

/** Options of an upgrade (as for `Deno.upgradeWebSocket`). */
export interface UpgradeOptions {
  /** Seconds without hearing from the peer (a ping is sent at half) before it is dropped. */
  idleTimeout: number;
}

/** An accepted upgrade (return `response` from the handler), or why the request cannot be upgraded. */
export type UpgradeResult =
  | { ok: true; socket: ChatSocket; response: Response }
  | { ok: false; problem: string };

/** A server's way to upgrade one of its requests. */
export type Upgrader = (req: Request, options: UpgradeOptions) => UpgradeResult;

/** What a server that brings its own upgrader puts in the request's environment. */
export interface UpgradeEnv {
  upgradeWebSocket: Upgrader;
}

function hasUpgrader(env: unknown): env is UpgradeEnv {
  return typeof env === "object" && env !== null &&
    typeof (env as Partial<UpgradeEnv>).upgradeWebSocket === "function";
}

/**
 * Upgrades the request of `c` with the server's upgrader, or Deno's.
 *
 * @example
 * ```ts
 * const upgrade = upgradeWebSocket(c, { idleTimeout: 60 });
 * if (!upgrade.ok) return c.text(upgrade.problem, 400);
 * handleConnection(upgrade.socket, scope, services, services.connections);
 * return upgrade.response;
 * ```
 */
export function upgradeWebSocket(
  c: Context,
  options: UpgradeOptions,
): UpgradeResult {
  if (hasUpgrader(c.env)) return c.env.upgradeWebSocket(c.req.raw, options);
  try {
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, options);
    // Its close drains what the peer already sent, so the peer is not reset.
    return { ok: true, socket: new DrainingWebSocket(socket), response };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

/**
 * The connection budget of the guarded listener, pure: how many client
 * connections may be open, and how many file descriptors they may use
 * together, so the process never reaches its `nofile` limit (at which
 * accepting fails) while every open socket keeps working.
 *
 * @module
 */

/**
 * Descriptors kept out of the budget for everything else the process opens:
 * the KV file, Redis, outgoing fetches, static files, V8 and Deno themselves.
 * 5 % of the limit, at least 64 and at most 1,024.
 */
export function reservedDescriptors(limit: number): number {
  return Math.min(1_024, Math.max(64, Math.floor(limit * 0.05)));
}

/** What one connection costs, in descriptors. */
export const Cost = {
  /** A client socket handled in-process (a WebSocket, or a request head being read). */
  socket: 1,
  /**
   * A client connection relayed to the in-process HTTP server: the client's
   * socket, ours to the server, and the server's end of it.
   */
  relayed: 3,
} as const;

/**
 * Counts connections and their descriptors against two caps.
 *
 * @example
 * ```ts
 * const budget = new ConnectionBudget({ connections: 1000, descriptors: 3000 });
 * if (!budget.admit()) conn.close();           // refused: spent
 * else if (!budget.grow(Cost.relayed - Cost.socket)) refuseRelay();
 * budget.release(Cost.relayed);                // when it closes
 * ```
 */
export class ConnectionBudget {
  #connections = 0;
  #descriptors = 0;

  constructor(readonly limits: { connections: number; descriptors: number }) {}

  /** Open client connections. */
  get connections(): number {
    return this.#connections;
  }

  /** Descriptors those connections use. */
  get descriptors(): number {
    return this.#descriptors;
  }

  /** Counts a new client connection (one descriptor) if both caps allow it. */
  admit(): boolean {
    if (
      this.#connections >= this.limits.connections ||
      this.#descriptors + Cost.socket > this.limits.descriptors
    ) return false;
    this.#connections++;
    this.#descriptors += Cost.socket;
    return true;
  }

  /** Adds `extra` descriptors to an admitted connection if the cap allows it. */
  grow(extra: number): boolean {
    if (this.#descriptors + extra > this.limits.descriptors) return false;
    this.#descriptors += extra;
    return true;
  }

  /** A connection that used `descriptors` closed. */
  release(descriptors: number): void {
    this.#connections = Math.max(0, this.#connections - 1);
    this.#descriptors = Math.max(0, this.#descriptors - descriptors);
  }
}

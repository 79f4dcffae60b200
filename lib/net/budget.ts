/**
 * The connection budget of the guarded listener, pure: how many client
 * connections may be open, and how many file descriptors they may use
 * together, so the process never reaches its `nofile` limit (at which
 * accepting fails) while every open socket keeps working; and how many one
 * address may hold, so no single peer can spend the budget for everyone.
 *
 * @module
 */

import { parseAddress } from "./address.ts";

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

/**
 * The key a client address counts under for {@link AddressBudget}: an IPv4
 * address as it is (an IPv4-mapped IPv6 one too), an IPv6 address by its /64
 * — one subscriber's usual allocation, every address in which is theirs to
 * connect from.
 *
 * @example
 * ```ts
 * addressKey("203.0.113.9");             // "203.0.113.9"
 * addressKey("2001:db8:1:2:aaaa::1");    // "2001:db8:1:2::/64"
 * addressKey("::ffff:203.0.113.9");      // "203.0.113.9"
 * addressKey("::ffff:cb00:7109");        // "203.0.113.9"
 * ```
 */
export function addressKey(hostname: string): string {
  // The common case, a peer's own IPv4 address, as it is.
  if (CANONICAL_V4.test(hostname)) return hostname;
  const address = parseAddress(hostname.split("%")[0]);
  // Not an address ("unknown"): as given.
  if (!address) return hostname;
  if (!address.v6) return dotted(address.value);
  const top = address.value >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((shift) =>
    ((top >> shift) & 0xffffn).toString(16)
  );
  return `${groups.join(":")}::/64`;
}

/** A dotted IPv4 address without leading zeros: a key as it is. */
const CANONICAL_V4 = /^(?:(?:0|[1-9]\d{0,2})\.){3}(?:0|[1-9]\d{0,2})$/;

/** An IPv4 address's number as dotted text. */
function dotted(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn))
    .join(".");
}

/**
 * Connections open per address key ({@link addressKey}), against a cap per
 * key (0: none).
 *
 * @example
 * ```ts
 * const perAddress = new AddressBudget(1_000);
 * if (!perAddress.take(key)) conn.close(); // refused: this address holds its share
 * perAddress.give(key);                     // when it closes
 * ```
 */
export class AddressBudget {
  readonly #open = new Map<string, number>();

  constructor(readonly perAddress: number) {}

  /** Counts a connection from `key` if it holds fewer than the cap. */
  take(key: string): boolean {
    const open = this.#open.get(key) ?? 0;
    if (this.perAddress > 0 && open >= this.perAddress) return false;
    this.#open.set(key, open + 1);
    return true;
  }

  /** A connection from `key` closed. */
  give(key: string): void {
    const open = this.#open.get(key);
    if (open === undefined) return;
    if (open <= 1) this.#open.delete(key);
    else this.#open.set(key, open - 1);
  }

  /** Connections open from `key`. */
  openFrom(key: string): number {
    return this.#open.get(key) ?? 0;
  }
}

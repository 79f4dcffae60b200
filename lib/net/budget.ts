/**
 * The connection budget of the guarded listener, pure: how many client
 * connections may be open, and how many file descriptors they may use
 * together, so the process never reaches its `nofile` limit (at which
 * accepting fails) while every open socket keeps working; and how many one
 * address may hold, so no single peer can spend the budget for everyone.
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
 * ```
 */
export function addressKey(hostname: string): string {
  if (!hostname.includes(":")) return hostname;
  const address = hostname.replace(/^\[|\]$/g, "").split("%")[0]
    .toLowerCase();
  const v4 = IPV4_MAPPED.exec(address);
  if (v4) return v4[1] ?? v4[2];
  const [left, right] = address.split("::");
  const head = left ? left.split(":") : [];
  const tail = right ? right.split(":") : [];
  const zeros = right === undefined ? 0 : 8 - head.length - tail.length;
  const groups = [...head, ...Array(Math.max(0, zeros)).fill("0"), ...tail];
  const prefix = groups.slice(0, 4).map((g) =>
    (parseInt(g, 16) || 0).toString(16)
  );
  return `${prefix.join(":")}::/64`;
}

/** `::ffff:a.b.c.d`, short or written out: an IPv4 peer on an IPv6 socket. */
const IPV4_MAPPED =
  /^::ffff:(\d+\.\d+\.\d+\.\d+)$|^(?:0{1,4}:){5}ffff:(\d+\.\d+\.\d+\.\d+)$/;

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

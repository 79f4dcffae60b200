/**
 * Who is on the other end of a request: the client's address and whether it
 * came over https. A reverse proxy's `X-Forwarded-For` and
 * `X-Forwarded-Proto` are believed only when the peer is a proxy named in
 * `TRUST_PROXY`; otherwise anyone could claim any address and dodge every
 * per-address limit.
 *
 * @module
 */

import type { Context } from "hono";
import { getConnInfo } from "hono/deno";
import { type Address, parseAddress } from "../net/address.ts";
import { addressKey } from "../net/budget.ts";

/** A network: an address and how many leading bits must match. */
interface Cidr extends Address {
  prefix: number;
}

/**
 * Parses `10.0.0.0/8`, `fd00::/8` or a single address; null when invalid.
 *
 * @example
 * ```ts
 * parseCidr("10.0.0.0/8");   // { v6: false, value: 167772160n, prefix: 8 }
 * parseCidr("10.0.0.0/33");  // null
 * ```
 */
export function parseCidr(text: string): Cidr | null {
  const [addr, bits, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  const address = parseAddress(addr);
  if (!address) return null;
  const width = address.v6 ? 128 : 32;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? width : Number(bits);
  if (prefix > width) return null;
  return { ...address, prefix };
}

/** The proxies named in `TRUST_PROXY`. */
export class TrustedProxies {
  readonly #networks: Cidr[];

  /** `cidrs` as `parseCidr` takes them; invalid entries are ignored (config refuses them first). */
  constructor(cidrs: readonly string[]) {
    this.#networks = cidrs.map(parseCidr).filter((c): c is Cidr => c !== null);
  }

  /** Whether `address` is one of the trusted proxies. */
  has(address: string): boolean {
    const a = parseAddress(address);
    if (!a) return false;
    return this.#networks.some((n) => {
      if (n.v6 !== a.v6) return false;
      const shift = BigInt((n.v6 ? 128 : 32) - n.prefix);
      return (a.value >> shift) === (n.value >> shift);
    });
  }

  /** Whether any proxy is trusted. */
  get any(): boolean {
    return this.#networks.length > 0;
  }
}

/** Where a request came from, as far as this process can tell. */
export interface ClientInfo {
  /**
   * The client as per-address limits, caps and bans count it
   * (`addressKey`): an IPv4 address as it is, an IPv6 one by its /64 — one
   * subscriber's usual allocation, every address of which is theirs, so
   * stepping through it must not buy a fresh budget or shed a ban
   * ("unknown" when the platform does not say).
   */
  address: string;
  /** The client's own address, whole (what `address` is derived from). */
  exact: string;
  /** Whether the client's request was https (to us, or to a trusted proxy). */
  https: boolean;
}

/** A request's header field by lower-case name (`c.req.header`, or the listener's parsed head). */
export type HeaderReader = (name: string) => string | null | undefined;

/**
 * The client behind a request. From a trusted proxy, the address is the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy, and
 * `X-Forwarded-Proto` says whether the client used https.
 *
 * @example
 * ```ts
 * const { address } = resolveClient(c, new TrustedProxies(["10.0.0.0/8"]));
 * ```
 */
export function resolveClient(c: Context, trusted: TrustedProxies): ClientInfo {
  let peer = "unknown";
  try {
    peer = getConnInfo(c).remote.address ?? "unknown";
  } catch { /* not served by Deno.serve (app.request in tests) */ }
  return clientOf(peer, c.req.url, (name) => c.req.header(name), trusted);
}

/**
 * {@link resolveClient} of a request known by its peer's address, its
 * absolute URL and its header fields, without a Hono context (the
 * listener's WebSocket lane).
 *
 * @example
 * ```ts
 * clientOf("10.0.0.5", "http://chat.example/ws/chat/a",
 *   (name) => name === "x-forwarded-for" ? "2001:db8:1:2::7" : null,
 *   new TrustedProxies(["10.0.0.0/8"]));
 * // { address: "2001:db8:1:2::/64", exact: "2001:db8:1:2::7", https: false }
 * ```
 */
export function clientOf(
  peer: string,
  url: string,
  header: HeaderReader,
  trusted: TrustedProxies,
): ClientInfo {
  // A request's URL is absolute: its scheme is its start (no URL parse per request).
  const direct = url.startsWith("https:");
  // With no proxy trusted (the default) the peer is the client: no address parse.
  if (!trusted.any || !trusted.has(peer)) {
    return { address: addressKey(peer), exact: peer, https: direct };
  }
  let address = peer;
  const hops = (header("x-forwarded-for") ?? "").split(",")
    .map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!parseAddress(hops[i])) break;
    address = hops[i];
    if (!trusted.has(hops[i])) break;
  }
  const proto = header("x-forwarded-proto")?.split(",")[0].trim();
  return {
    address: addressKey(address),
    exact: address,
    https: direct || proto === "https",
  };
}

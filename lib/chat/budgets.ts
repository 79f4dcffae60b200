/**
 * Every budget that follows a person, an address or a room, in one place:
 * the socket and the HTTP routes spend the same buckets, so a person has one
 * message budget however many tabs and API clients they use, an address one
 * for everyone behind it, and a room one for all who write to it.
 *
 * Budgets are per instance: behind a load balancer spreading one person over
 * N instances they allow up to N times as much (sticky sessions keep a
 * person on one).
 *
 * @module
 */

import type { LimitsConfig } from "../config.ts";
import {
  KeyedBuckets,
  PING_BURST,
  PING_RATE_PER_S,
  READ_BURST,
  READ_RATE_PER_S,
  SIGN_IN_BURST,
  SIGN_IN_RATE_PER_S,
  takeAll,
  TYPING_BURST,
  TYPING_RATE_PER_S,
} from "./rate_limit.ts";

/** The buckets of one instance, by what they are keyed on. */
export interface Budgets {
  /** Messages per person (user id), socket and HTTP alike. */
  messages: KeyedBuckets;
  /** Messages per client address, whoever is signed in there. */
  messagesPerAddress: KeyedBuckets;
  /** Messages stored per room: no crowd outruns history retention. */
  messagesPerRoom: KeyedBuckets;
  /** History reads per person (user id, or `ip:<address>` when signed out). */
  reads: KeyedBuckets;
  /** History reads per client address: {@link addressShare} people's worth. */
  readsPerAddress: KeyedBuckets;
  /** `typing` frames per person (relayed to the room, so per person, not per tab). */
  typing: KeyedBuckets;
  /** `typing` frames per client address: {@link addressShare} people's worth. */
  typingPerAddress: KeyedBuckets;
  /** `ping` frames per person. */
  pings: KeyedBuckets;
  /** New sockets per client address; null when `CONNECTS_PER_IP_PER_MINUTE=0`. */
  connects: KeyedBuckets | null;
  /** Guest sessions per client address; null when `GUESTS_PER_IP_PER_HOUR=0`. */
  guests: KeyedBuckets | null;
  /** Google sign-ins per account (its `sub`). */
  signIns: KeyedBuckets;
}

/** A per-minute or per-hour allowance as a bucket: the whole allowance may come at once. */
function perWindow(count: number, windowSeconds: number): KeyedBuckets | null {
  return count > 0 ? new KeyedBuckets(count, count / windowSeconds) : null;
}

/**
 * The budgets `limits` describe.
 *
 * @example
 * ```ts
 * const budgets = createBudgets(loadConfig());
 * budgets.messages.take(user.id); // 0: allowed
 * ```
 */
export function createBudgets(limits: LimitsConfig): Budgets {
  const share = addressShare(limits);
  return {
    messages: new KeyedBuckets(
      limits.rateLimitBurst,
      limits.rateLimitPerSecond,
    ),
    messagesPerAddress: new KeyedBuckets(
      limits.messagesPerIpBurst,
      limits.messagesPerIpPerSecond,
    ),
    messagesPerRoom: new KeyedBuckets(
      limits.roomMessagesBurst,
      limits.roomMessagesPerSecond,
    ),
    reads: new KeyedBuckets(READ_BURST, READ_RATE_PER_S),
    readsPerAddress: new KeyedBuckets(
      READ_BURST * share,
      READ_RATE_PER_S * share,
    ),
    typing: new KeyedBuckets(TYPING_BURST, TYPING_RATE_PER_S),
    typingPerAddress: new KeyedBuckets(
      TYPING_BURST * share,
      TYPING_RATE_PER_S * share,
    ),
    pings: new KeyedBuckets(PING_BURST, PING_RATE_PER_S),
    connects: perWindow(limits.connectsPerIpPerMinute, 60),
    guests: perWindow(limits.guestsPerIpPerHour, 3600),
    signIns: new KeyedBuckets(SIGN_IN_BURST, SIGN_IN_RATE_PER_S),
  };
}

/** The key of the read budget: the person, or their address when signed out. */
export function readerKey(userId: string | undefined, address: string): string {
  return userId ?? `ip:${address}`;
}

/**
 * How many people one client address counts as, for the budgets a person has
 * that are also held per address (reads, typing): as many as its messages
 * allow (`MESSAGES_PER_IP_PER_SECOND` ÷ `RATE_LIMIT_PER_SECOND`, 10 by
 * default). Guests are free to make — 60 an hour from one address — so a
 * per-person budget alone multiplied: 10 guests from one address read 200
 * history pages in one burst and sent 50 `typing` frames to a room in 5 s.
 *
 * @example
 * ```ts
 * addressShare({ messagesPerIpPerSecond: 20, rateLimitPerSecond: 2 }); // 10
 * ```
 */
export function addressShare(
  limits: Pick<LimitsConfig, "messagesPerIpPerSecond" | "rateLimitPerSecond">,
): number {
  return Math.max(1, limits.messagesPerIpPerSecond / limits.rateLimitPerSecond);
}

/**
 * Takes a history read for `reader` ({@link readerKey}) at `address`, from the
 * person's budget and the address's; 0, or the wait in ms.
 */
export function takeRead(
  budgets: Pick<Budgets, "reads" | "readsPerAddress">,
  reader: string,
  address: string,
  now: number = Date.now(),
): number {
  return takeAll([
    [budgets.reads, reader],
    [budgets.readsPerAddress, address],
  ], now);
}

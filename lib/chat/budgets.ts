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
  /** `typing` frames per person (relayed to the room, so per person, not per tab). */
  typing: KeyedBuckets;
  /** `ping` frames per person. */
  pings: KeyedBuckets;
  /** New sockets per client address; null when `CONNECTS_PER_IP_PER_MINUTE=0`. */
  connects: KeyedBuckets | null;
  /** Guest sessions per client address; null when `GUESTS_PER_IP_PER_HOUR=0`. */
  guests: KeyedBuckets | null;
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
    typing: new KeyedBuckets(TYPING_BURST, TYPING_RATE_PER_S),
    pings: new KeyedBuckets(PING_BURST, PING_RATE_PER_S),
    connects: perWindow(limits.connectsPerIpPerMinute, 60),
    guests: perWindow(limits.guestsPerIpPerHour, 3600),
  };
}

/** The key of the read budget: the person, or their address when signed out. */
export function readerKey(userId: string | undefined, address: string): string {
  return userId ?? `ip:${address}`;
}

/**
 * A token bucket, pure and clock-injected so it is tested without waiting.
 *
 * @module
 */

import { LruMap } from "../lru.ts";

/** Messages a connection may send in a burst. */
export const MESSAGE_BURST = 20;
/** Sustained messages per second (10 per 5 s). */
export const MESSAGE_RATE_PER_S = 2;
/** `typing` frames a connection may send in a burst (clients send one per 2 s). */
export const TYPING_BURST = 5;
/** Sustained `typing` frames per second. */
export const TYPING_RATE_PER_S = 1;
/**
 * Sessions one Google account may start in a burst (sign-ins with its ID
 * tokens): a person signs in on a few devices. One token replayed 300 times
 * made 300 sessions in a second, each a user and directory write, and each
 * sign-out a revocation row kept for 7 days.
 */
export const SIGN_IN_BURST = 10;
/** Sustained sign-ins per Google account: 10 an hour. */
export const SIGN_IN_RATE_PER_S = 10 / 3_600;
/** `ping` frames a connection may send in a burst (clients ping every 25 s, and when the network returns). */
export const PING_BURST = 5;
/** Sustained `ping` frames per second: one per 5 s. */
export const PING_RATE_PER_S = 0.2;
/**
 * History reads (`resume`, `history` frames and `GET …/messages`) a person may
 * make in a burst: a reconnect after a long outage pages `resume` 100
 * messages at a time, so 20 pages (2,000 messages) come at once.
 */
export const READ_BURST = 20;
/** Sustained history reads per second per person: 500 messages a second of catch-up. */
export const READ_RATE_PER_S = 5;
/** Invalid frames (bad JSON, unknown types, oversize, binary) a connection may send in a burst: a client bug, not a pattern. */
export const INVALID_BURST = 20;
/** Sustained invalid frames per second per connection. */
export const INVALID_RATE_PER_S = 1;
/** Frames over budget within one connection before it is closed (`CloseCode.rateLimited`). */
export const MAX_RATE_VIOLATIONS = 20;

/** A token bucket: `capacity` tokens, refilled at `ratePerSecond`. */
export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(
    readonly capacity: number,
    readonly ratePerSecond: number,
    now: number = Date.now(),
  ) {
    this.#tokens = capacity;
    this.#updated = now;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#updated) / 1000;
    this.#tokens = Math.min(
      this.capacity,
      this.#tokens + elapsed * this.ratePerSecond,
    );
    this.#updated = now;
  }

  /**
   * Takes one token. Returns 0 when allowed, else the milliseconds until one
   * is available.
   *
   * @example
   * ```ts
   * const bucket = new TokenBucket(1, 1, 0);
   * bucket.take(0);    // 0
   * bucket.take(0);    // 1000
   * bucket.take(1000); // 0
   * ```
   */
  take(now: number = Date.now()): number {
    const wait = this.peek(now);
    if (wait === 0) this.#tokens -= 1;
    return wait;
  }

  /** Like {@link take} but takes nothing: 0 when a token is available, else the wait in ms. */
  peek(now: number = Date.now()): number {
    this.#refill(now);
    // Float rounding must not refuse a client that waited exactly as told.
    if (this.#tokens >= 1 - 1e-9) return 0;
    return Math.ceil(((1 - this.#tokens) / this.ratePerSecond) * 1000);
  }
}

/** Keys a {@link KeyedBuckets} remembers before forgetting the least recently used. */
export const MAX_BUCKET_KEYS = 100_000;

/**
 * Token buckets by key (a user id, an address, a room), shared by everything
 * that spends that key's budget: a person's sockets and HTTP requests draw
 * from one bucket. The least recently used keys are forgotten past
 * `maxKeys`, which bounds memory whatever callers do (a forgotten bucket
 * comes back full, the state of a key unused for a while anyway).
 */
export class KeyedBuckets {
  readonly #buckets: LruMap<string, TokenBucket>;

  constructor(
    readonly capacity: number,
    readonly ratePerSecond: number,
    readonly maxKeys: number = MAX_BUCKET_KEYS,
  ) {
    this.#buckets = new LruMap(maxKeys);
  }

  #bucket(key: string, now: number): TokenBucket {
    const bucket = this.#buckets.get(key) ??
      new TokenBucket(this.capacity, this.ratePerSecond, now);
    this.#buckets.set(key, bucket);
    return bucket;
  }

  /**
   * Takes a token for `key`: 0 when allowed, else the wait in ms.
   *
   * @example
   * ```ts
   * const perUser = new KeyedBuckets(1, 1);
   * perUser.take("ana", 0); // 0
   * perUser.take("ana", 0); // 1000
   * perUser.take("ben", 0); // 0
   * ```
   */
  take(key: string, now: number = Date.now()): number {
    return this.#bucket(key, now).take(now);
  }

  /** Like {@link take} but takes nothing. */
  peek(key: string, now: number = Date.now()): number {
    return this.#bucket(key, now).peek(now);
  }

  /** Keys remembered (at most `maxKeys`). */
  get size(): number {
    return this.#buckets.size;
  }
}

/**
 * Takes one token from every `[buckets, key]` pair when each has one, else
 * none: a refusal by one budget costs nothing from the others. Returns 0, or
 * the longest wait in ms.
 *
 * @example
 * ```ts
 * takeAll([[perUser, user.id], [perAddress, ip], [perRoom, room]]);
 * ```
 */
export function takeAll(
  budgets: readonly (readonly [KeyedBuckets, string])[],
  now: number = Date.now(),
): number {
  let wait = 0;
  for (const [buckets, key] of budgets) {
    wait = Math.max(wait, buckets.peek(key, now));
  }
  if (wait === 0) {
    for (const [buckets, key] of budgets) {
      buckets.take(key, now);
    }
  }
  return wait;
}

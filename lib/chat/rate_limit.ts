/**
 * A token bucket, pure and clock-injected so it is tested without waiting.
 *
 * @module
 */

/** Messages a connection may send in a burst. */
export const MESSAGE_BURST = 20;
/** Sustained messages per second (10 per 5 s). */
export const MESSAGE_RATE_PER_S = 2;
/** `typing` frames a connection may send in a burst (clients send one per 2 s). */
export const TYPING_BURST = 5;
/** Sustained `typing` frames per second. */
export const TYPING_RATE_PER_S = 1;
/** Rejected frames within one connection before it is closed with 1008. */
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
    this.#refill(now);
    // Float rounding must not refuse a client that waited exactly as told.
    if (this.#tokens >= 1 - 1e-9) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.ratePerSecond) * 1000);
  }
}

/**
 * The client's own send budget: a token bucket shaped like the server's
 * (`welcome.rate`), so a pasted burst or an outbox flushed after a reconnect
 * goes out at a rate the server accepts instead of tripping its limit. Pure:
 * the caller brings the time.
 *
 * @module
 */

import { TokenBucket } from "../rate_limit.ts";

/** The server's message budget, as `welcome.rate` states it. */
export interface SendRate {
  burst: number;
  perSecond: number;
}

/**
 * The share of the server's sustained rate the client uses. The server
 * counts from when frames arrive, the client from when it sends them: at the
 * full rate, a frame delayed less than the one before it on the network
 * would arrive a little early and be refused.
 */
export const PACE_SHARE = 0.9;

/**
 * When the next message may go out.
 *
 * @example
 * ```ts
 * const pacer = new SendPacer();
 * pacer.setRate({ burst: 20, perSecond: 2 }, now);
 * if (pacer.wait(now) === 0) { pacer.take(now); send(); }
 * ```
 */
export class SendPacer {
  #rate: SendRate | null = null;
  #bucket: TokenBucket | null = null;
  #pausedUntil = 0;

  /**
   * The server's budget (from each `welcome`). The first one starts full;
   * the same one again keeps what was spent; a different one starts empty.
   */
  setRate(rate: SendRate, now: number): void {
    const same = this.#rate?.burst === rate.burst &&
      this.#rate.perSecond === rate.perSecond;
    if (same) return;
    const first = this.#rate === null;
    this.#rate = { burst: rate.burst, perSecond: rate.perSecond };
    this.#bucket = this.#newBucket(
      Math.max(now, this.#pausedUntil),
      first ? undefined : 0,
    );
  }

  /**
   * Milliseconds until a message may go out (0: now), or `null` before any
   * rate is known (nothing is sent before the first `welcome` anyway).
   */
  wait(now: number): number | null {
    if (!this.#bucket) return null;
    if (now < this.#pausedUntil) return this.#pausedUntil - now;
    return this.#bucket.peek(now);
  }

  /** Spends a token: call when {@link wait} said 0 and the message went out. */
  take(now: number): void {
    this.#bucket?.take(now);
  }

  /**
   * The server refused for going too fast and said when it will take one
   * more: nothing before `ms` from now, then one message, and the budget
   * refills from there.
   */
  pause(ms: number, now: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, now + ms);
    if (this.#rate) this.#bucket = this.#newBucket(this.#pausedUntil, 1);
  }

  /** A bucket holding `tokens` (all of the burst by default) at `at`. */
  #newBucket(at: number, tokens?: number): TokenBucket {
    const { burst, perSecond } = this.#rate!;
    const bucket = new TokenBucket(burst, perSecond * PACE_SHARE, at);
    for (let i = tokens ?? burst; i < burst; i++) bucket.take(at);
    return bucket;
  }
}

/**
 * Retry delays: exponential, capped, half jittered, so a server restart is
 * not met by every client at the same instant (nor a recovered bus by every
 * instance). Browser-safe.
 *
 * @module
 */

/** First retry waits up to this long. */
export const RECONNECT_BASE_MS = 500;
/** No retry waits longer than this. */
export const RECONNECT_MAX_MS = 15_000;

/**
 * Delay before retry `attempt` (0-based): exponential from `baseMs`, capped
 * at `maxMs`, half of it random (never instant, never synchronized).
 * `random` is in [0, 1).
 *
 * @example
 * ```ts
 * backoffDelay(0, 100, 5_000, 0);  // 50
 * backoffDelay(30, 100, 5_000, 1); // 5000
 * ```
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: number = Math.random(),
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/**
 * Delay before reconnect attempt `attempt` (0-based); `random` is in [0, 1).
 *
 * @example
 * ```ts
 * reconnectDelay(0, 0.5);  // 375: half-jittered 500 ms
 * reconnectDelay(20, 0.99); // close to RECONNECT_MAX_MS
 * ```
 */
export function reconnectDelay(
  attempt: number,
  random: number = Math.random(),
): number {
  return backoffDelay(attempt, RECONNECT_BASE_MS, RECONNECT_MAX_MS, random);
}

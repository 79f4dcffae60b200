/**
 * Reconnect delays: exponential, capped, with full jitter so a server restart
 * is not met by every client at the same instant.
 *
 * @module
 */

/** First retry waits up to this long. */
export const RECONNECT_BASE_MS = 500;
/**
 * No retry waits longer than this: a room is back within 10 s of the server
 * answering again (a restart), however long it was away.
 */
export const RECONNECT_MAX_MS = 8_000;

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
  const ceiling = Math.min(
    RECONNECT_MAX_MS,
    RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16),
  );
  // Half fixed, half random: never instant, never synchronized.
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

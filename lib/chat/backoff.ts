/**
 * Retry delays: exponential, capped, and half jittered — half of each delay
 * is fixed, half random — so a retry is never instant and a crowd that lost
 * the same server (browsers after a restart, instances after a Redis outage)
 * does not come back at the same instant. One formula serves the browser's
 * WebSocket reconnects ({@link reconnectDelay}) and the Redis layer's
 * reconnects ({@link backoffDelay} with its own base and cap).
 *
 * @module
 */

/** First WebSocket retry waits up to this long. */
export const RECONNECT_BASE_MS = 500;
/**
 * No WebSocket retry waits longer than this: a room is back within 10 s of
 * the server answering again (a restart), however long it was away.
 */
export const RECONNECT_MAX_MS = 8_000;
/**
 * Doublings counted at most: 2 ** 30 times any useful base is far past any
 * cap, and the product stays finite (a huge `attempt` would make it Infinity).
 */
const MAX_DOUBLINGS = 30;

/**
 * Delay before retry `attempt` (0-based): the ceiling `baseMs × 2^attempt`,
 * capped at `maxMs`; half of it fixed, half scaled by `random` in [0, 1).
 *
 * @example
 * ```ts
 * backoffDelay(0, 100, 5_000, 0);   // 50: half of the base
 * backoffDelay(3, 100, 5_000, 0.5); // 600: ceiling 800, ¾ of it
 * backoffDelay(40, 100, 5_000, 1);  // 5000: the cap
 * ```
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: number = Math.random(),
): number {
  const ceiling = Math.min(
    maxMs,
    baseMs * 2 ** Math.min(attempt, MAX_DOUBLINGS),
  );
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/**
 * Delay before WebSocket reconnect attempt `attempt` (0-based), between
 * {@link RECONNECT_BASE_MS} and {@link RECONNECT_MAX_MS}; `random` is in [0, 1).
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

/**
 * Delay before reconnecting after the server closed the socket with 1012
 * (restarting), given the close `reason`: the first step of the backoff,
 * {@link reconnectDelay}`(0)`.
 *
 * @example
 * ```ts
 * restartDelay("server restarting", 0); // 250
 * ```
 */
export function restartDelay(
  _reason: string,
  random: number = Math.random(),
): number {
  return reconnectDelay(0, random);
}

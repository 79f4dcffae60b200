/**
 * Waiting for something to become true, never by sleeping: a {@link Signal}
 * that whatever changes the state notifies, and {@link eventually} for state
 * that has no event of its own (a server handling a close, a process
 * starting to answer). Every wait is bounded and fails with what it waited
 * for. For tests and the helpers they share with `bench/`.
 *
 * @module
 */

/**
 * How long a wait lasts by default before it fails: generous, since it only
 * costs time when a test fails anyway, and a loaded 2-core CI host must not
 * turn slowness into failures.
 */
export const WAIT_MS = 10_000;
/** Re-check interval of {@link eventually}: such state changes within a few ms. */
const POLL_MS = 5;

/** What a wait is for, for its failure message; a function is read when the wait fails. */
export type What = string | (() => string);

/**
 * Lets tests await a condition that something else makes true: whoever
 * changes the state calls {@link Signal.notify}, which re-checks every
 * pending {@link Signal.until}.
 *
 * @example
 * ```ts
 * const frames: string[] = [];
 * const signal = new Signal();
 * const channel = { send: (f: string) => (frames.push(f), signal.notify()) };
 * // … hand `channel` to the code under test …
 * await signal.until(() => frames.length === 2, () => `2 frames, got ${frames}`);
 * ```
 */
export class Signal {
  #checks = new Set<() => void>();

  /** Re-checks every pending {@link Signal.until}; call it after each change that may satisfy one. */
  notify(): void {
    for (const check of [...this.#checks]) check();
  }

  /**
   * Resolves once `ready()` holds (checked now and on every
   * {@link Signal.notify}); rejects after `timeoutMs`, or if `ready` throws.
   */
  until(
    ready: () => boolean,
    what: What,
    timeoutMs: number = WAIT_MS,
  ): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        try {
          if (!ready()) return;
        } catch (err) {
          done();
          return reject(err);
        }
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(timedOut(what, timeoutMs));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#checks.delete(check);
      };
      this.#checks.add(check);
    });
  }
}

/**
 * Resolves once `ready()` holds, re-checking every few ms; rejects after
 * `timeoutMs`, or as soon as `ready` throws. Only for state that changes
 * without an event the caller can hear (a server handling a close, a
 * process starting to answer); anything that notifies belongs on a
 * {@link Signal}.
 *
 * @example
 * ```ts
 * await eventually(
 *   () => server.services.connections.size === 0,
 *   "the server saw every close",
 * );
 * ```
 */
export async function eventually(
  ready: () => boolean | Promise<boolean>,
  what: What,
  timeoutMs: number = WAIT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ready())) {
    if (performance.now() > deadline) throw timedOut(what, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function timedOut(what: What, ms: number): Error {
  const text = typeof what === "function" ? what() : what;
  return new Error(`timed out after ${ms} ms waiting for: ${text}`);
}

/**
 * Small promise helpers shared by the app, the tests and the benchmark.
 *
 * @module
 */

/**
 * `promise`'s outcome, or a rejection `"<what> timed out after <ms> ms"` if
 * it has not settled within `ms`. The timer never outlives the race; the
 * promise itself is not cancelled.
 *
 * @example
 * ```ts
 * await withTimeout(client.close(), 2_000, "redis close");
 * ```
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

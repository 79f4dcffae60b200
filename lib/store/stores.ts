/**
 * The storage factory: the backend named by the configuration, as one
 * {@link Stores} bundle (the counterpart of `createLayer` in `lib/server.ts`).
 *
 * @module
 */

import { openKvStores } from "./kv_stores.ts";
import type { StoreOptions, Stores } from "./types.ts";

/**
 * Opens the stores of the backend `options.store`. The caller owns the
 * result and releases it with one `close()`. `now` is the clock of message
 * timestamps and retention's age: tests pass one they can move.
 *
 * @example
 * ```ts
 * const stores = await createStore({ store: "kv", kvPath: ":memory:", historyRetention: 10_000 });
 * await stores.messages.lastSeq("general"); // 0
 * await stores.close();
 * ```
 */
export async function createStore(
  options: StoreOptions,
  now: () => number = Date.now,
): Promise<Stores> {
  switch (options.store) {
    case "kv":
      return await openKvStores(options, now);
    default: {
      const _exhaustive: never = options.store;
      throw new Error(`unknown store: ${_exhaustive}`);
    }
  }
}

/**
 * One store contract test run against every backend (`STORE_KINDS`): `fn`
 * gets a fresh bundle of stores in memory, closed afterwards.
 *
 * @example
 * ```ts
 * storeContract("invite store", "a link is used once", async ({ invites }) => { ... });
 * ```
 *
 * @module
 */
import { createStore } from "../../../lib/store/stores.ts";
import { STORE_KINDS, type Stores } from "../../../lib/store/types.ts";

/** Registers `name` once per backend, labelled `<subject> (<backend>): <name>`. */
export function storeContract(
  subject: string,
  name: string,
  fn: (stores: Stores) => Promise<void>,
): void {
  for (const store of STORE_KINDS) {
    Deno.test(`${subject} (${store}): ${name}`, async () => {
      const stores = await createStore({
        store,
        kvPath: ":memory:",
        historyRetention: 100,
      });
      try {
        await fn(stores);
      } finally {
        await stores.close();
      }
    });
  }
}

/**
 * The Deno KV backend: every store on one `Deno.Kv`, opened and closed once.
 *
 * @module
 */

import { maxChecksFor, openKv } from "./kv.ts";
import { KvMessageStore } from "./messages.ts";
import { KvPresenceStore } from "./presence.ts";
import { KvRevocationStore } from "./revocations.ts";
import { KvRoomStore } from "./rooms.ts";
import { KvInviteStore } from "./invites.ts";
import { KvDirectStore } from "./directs.ts";
import { KvDirectoryStore } from "./directory.ts";
import { KvHandoverStore } from "./handover.ts";
import { KvSecretStore } from "./secrets.ts";
import type { StoreOptions, Stores } from "./types.ts";
import { KvUserStore } from "./users.ts";

/**
 * Opens the KV database at `options.kvPath` and the stores on it; `now` is
 * the clock of message timestamps and retention (tests move it).
 *
 * @example
 * ```ts
 * const stores = await openKvStores({ store: "kv", kvPath: ":memory:", historyRetention: 100 });
 * await stores.close();
 * ```
 */
export async function openKvStores(
  options: StoreOptions,
  now: () => number = Date.now,
): Promise<Stores> {
  const kv = await openKv(options.kvPath);
  const messages = new KvMessageStore(kv, {
    retention: options.historyRetention,
    minAgeDays: options.historyMinAgeDays,
    maxChecks: maxChecksFor(options.kvPath),
    now,
  });
  try {
    await messages.migrate();
  } catch (err) {
    kv.close();
    throw err;
  }
  let closed = false;
  return {
    messages,
    handover: new KvHandoverStore(kv),
    presence: new KvPresenceStore(kv),
    users: new KvUserStore(kv),
    revocations: new KvRevocationStore(kv),
    secrets: new KvSecretStore(kv),
    rooms: new KvRoomStore(kv),
    invites: new KvInviteStore(kv),
    directs: new KvDirectStore(kv),
    directory: new KvDirectoryStore(kv),
    close() {
      if (!closed) {
        closed = true;
        messages.close();
        kv.close();
      }
      return Promise.resolve();
    },
  };
}

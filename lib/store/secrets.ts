/**
 * Generated secrets kept in Deno KV, `["secret", name]`, next to the data
 * they protect.
 *
 * Why a KV key rather than a file beside the KV file: every instance that
 * shares the data agrees through one atomic check — the workers of one
 * process, processes on one KV file, machines on one KV Connect database —
 * with no second path to configure, make writable or lock; and the secret
 * lives exactly as long as the users, revocations and history it goes with
 * (`KV_PATH=:memory:` keeps it for the life of the process, like everything
 * else there). Whoever can read the database can read the key: production
 * sets `SESSION_SECRET` instead, and then nothing is stored.
 *
 * @module
 */

import { isBusy } from "./kv.ts";
import type { KeptSecret, SecretStore } from "./types.ts";

/** Attempts before giving up while other connections hold the KV file's write lock. */
const MAX_KEEP_ATTEMPTS = 20;
/** Longest pause between those attempts (random, so racers spread out). */
const MAX_KEEP_BACKOFF_MS = 50;

/** {@link SecretStore} on Deno KV. */
export class KvSecretStore implements SecretStore {
  constructor(private readonly kv: Deno.Kv) {}

  async keep(name: string, candidate: string): Promise<KeptSecret> {
    const key = ["secret", name];
    for (let attempt = 1;; attempt++) {
      let stored: boolean;
      try {
        stored = (await this.kv.atomic()
          .check({ key, versionstamp: null })
          .set(key, candidate)
          .commit()).ok;
      } catch (err) {
        if (!isBusy(err) || attempt >= MAX_KEEP_ATTEMPTS) throw err;
        await new Promise((r) =>
          setTimeout(r, Math.random() * MAX_KEEP_BACKOFF_MS)
        );
        continue;
      }
      if (stored) return { value: candidate, created: true };
      // The check failed: another caller stored one first.
      const kept = await this.kv.get<string>(key);
      if (typeof kept.value === "string") {
        return { value: kept.value, created: false };
      }
      if (attempt >= MAX_KEEP_ATTEMPTS) {
        throw new Error(`secret "${name}" could not be kept`);
      }
    }
  }
}

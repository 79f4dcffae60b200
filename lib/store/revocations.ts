/**
 * Signed-out sessions on Deno KV. An entry expires when the token it revokes
 * would have.
 *
 * Every request with a session asks whether it was revoked; a reconnect storm
 * asks 10,000 times within a second. Lookups asked while one is in flight
 * wait for the next, which reads all their ids in one `getMany` — still a read
 * begun after each was asked, so a sign-out that finished before a lookup was
 * asked is always seen.
 *
 * @module
 */

import { getManyChunked } from "./kv.ts";
import type { RevocationStore } from "./types.ts";

/** Shortest life of a revocation entry, so a token at its last second is still covered. */
const MIN_REVOCATION_TTL_MS = 1_000;

/** A lookup waiting for the next read. */
interface Lookup {
  sids: readonly string[];
  resolve: (revoked: Set<string>) => void;
  reject: (err: unknown) => void;
}

/** {@link RevocationStore} on Deno KV: `["revoked", sid]` with `expireIn`. */
export class KvRevocationStore implements RevocationStore {
  #waiting: Lookup[] = [];
  #reading = false;

  constructor(private readonly kv: Deno.Kv) {}

  async revoke(sid: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(MIN_REVOCATION_TTL_MS, expiresAt - Date.now());
    await this.kv.set(["revoked", sid], true, { expireIn: ttl });
  }

  revokedAmong(sids: readonly string[]): Promise<Set<string>> {
    if (sids.length === 0) return Promise.resolve(new Set());
    return new Promise((resolve, reject) => {
      this.#waiting.push({ sids, resolve, reject });
      if (!this.#reading) this.#read();
    });
  }

  /** Reads the ids of every waiting lookup at once, while any wait. */
  async #read(): Promise<void> {
    this.#reading = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        const ids = [...new Set(batch.flatMap((l) => l.sids))];
        const entries = await getManyChunked(
          this.kv,
          ids.map((sid) => ["revoked", sid]),
        );
        const revoked = new Set(
          ids.filter((_, i) => entries[i].value !== null),
        );
        for (const l of batch) {
          l.resolve(new Set(l.sids.filter((sid) => revoked.has(sid))));
        }
      } catch (err) {
        for (const l of batch) l.reject(err);
      }
    }
    this.#reading = false;
  }
}

/**
 * Signed-out sessions on Deno KV. An entry expires when the token it revokes
 * would have.
 *
 * @module
 */

import { getManyChunked } from "./kv.ts";
import type { RevocationStore } from "./types.ts";

/** Shortest life of a revocation entry, so a token at its last second is still covered. */
const MIN_REVOCATION_TTL_MS = 1_000;

/** {@link RevocationStore} on Deno KV: `["revoked", sid]` with `expireIn`. */
export class KvRevocationStore implements RevocationStore {
  constructor(private readonly kv: Deno.Kv) {}

  async revoke(sid: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(MIN_REVOCATION_TTL_MS, expiresAt - Date.now());
    await this.kv.set(["revoked", sid], true, { expireIn: ttl });
  }

  async revokedAmong(sids: readonly string[]): Promise<Set<string>> {
    const entries = await getManyChunked(
      this.kv,
      sids.map((sid) => ["revoked", sid]),
    );
    return new Set(sids.filter((_, i) => entries[i].value !== null));
  }
}

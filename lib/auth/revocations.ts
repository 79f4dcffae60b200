/**
 * Signed-out sessions, shared by every instance through Deno KV. An entry
 * lives only as long as the token it revokes could.
 *
 * @module
 */

import { getManyChunked } from "../store/kv.ts";

/** Revoked session ids. */
export interface Revocations {
  /** Revokes `sid` until `expiresAt` (ms since the epoch), when the token dies anyway. */
  revoke(sid: string, expiresAt: number): Promise<void>;
  /** Which of `sids` are revoked. */
  revokedAmong(sids: readonly string[]): Promise<Set<string>>;
}

/** {@link Revocations} on Deno KV: `["revoked", sid]` with `expireIn`. */
export class KvRevocations implements Revocations {
  constructor(private readonly kv: Deno.Kv) {}

  async revoke(sid: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(1_000, expiresAt - Date.now());
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

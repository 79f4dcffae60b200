/**
 * Signed-out sessions, shared by every instance through Deno KV. An entry
 * lives only as long as the token it revokes could.
 *
 * @module
 */

/** getMany takes at most this many keys. */
const KV_GET_MANY_MAX = 10;

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
    const revoked = new Set<string>();
    for (let i = 0; i < sids.length; i += KV_GET_MANY_MAX) {
      const batch = sids.slice(i, i + KV_GET_MANY_MAX);
      const entries = await this.kv.getMany(
        batch.map((sid) => ["revoked", sid]),
      );
      entries.forEach((e, j) => e.value !== null && revoked.add(batch[j]));
    }
    return revoked;
  }
}

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
 * Live sockets are re-checked every few seconds. Asking about all of them
 * each time cost 1,000 `getMany`s of 10 keys per 5 s for 10,000 sockets, at
 * rest; a revocation also rewrites one key, so a re-check first reads that
 * key's versionstamp ({@link KvRevocationStore.generation}) and asks about
 * every session only when it moved.
 *
 * @module
 */

import { NextBatch } from "../batch.ts";
import { getManyChunked } from "./kv.ts";
import type { RevocationStore } from "./types.ts";

/** Shortest life of a revocation entry, so a token at its last second is still covered. */
const MIN_REVOCATION_TTL_MS = 1_000;
/** Rewritten with every revocation: its versionstamp is {@link KvRevocationStore.generation}. */
const GENERATION_KEY: Deno.KvKey = ["revoked_generation"];

/** {@link RevocationStore} on Deno KV: `["revoked", sid]` with `expireIn`. */
export class KvRevocationStore implements RevocationStore {
  /** Lookups (each a list of ids) asked while a read is in flight, read together next. */
  readonly #lookups = new NextBatch<readonly string[], Set<string>>(
    (lookups) => this.#read(lookups),
  );

  constructor(private readonly kv: Deno.Kv) {}

  async revoke(sid: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(MIN_REVOCATION_TTL_MS, expiresAt - Date.now());
    // One write: whoever sees the new generation also sees the entry.
    const result = await this.kv.atomic()
      .set(["revoked", sid], true, { expireIn: ttl })
      .set(GENERATION_KEY, Date.now())
      .commit();
    if (!result.ok) throw new Error("revocation not stored");
  }

  async generation(): Promise<string | null> {
    return (await this.kv.get(GENERATION_KEY)).versionstamp;
  }

  revokedAmong(sids: readonly string[]): Promise<Set<string>> {
    if (sids.length === 0) return Promise.resolve(new Set());
    return this.#lookups.run(sids);
  }

  /** Reads the ids of a batch of lookups in one `getMany`: each lookup's revoked ids. */
  async #read(lookups: readonly (readonly string[])[]): Promise<Set<string>[]> {
    const ids = [...new Set(lookups.flat())];
    const entries = await getManyChunked(
      this.kv,
      ids.map((sid) => ["revoked", sid]),
    );
    const revoked = new Set(ids.filter((_, i) => entries[i].value !== null));
    return lookups.map((sids) =>
      new Set(sids.filter((sid) => revoked.has(sid)))
    );
  }
}

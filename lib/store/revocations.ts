/**
 * Signed-out sessions on Deno KV. An entry expires when the token it revokes
 * would have.
 *
 * Every request with a session asks whether it was revoked; a reconnect storm
 * asks 10,000 times within a second. Lookups asked while one is in flight
 * wait for the next ({@link NextBatch}), and each batch is answered by one
 * read of the generation key — still a read begun after each was asked, so a
 * sign-out that finished before a lookup was asked is always seen:
 *
 * - Every revocation rewrites `["revoked_generation"]` in the same atomic
 *   write, so its versionstamp ({@link KvRevocationStore.generation}) moves
 *   with every sign-out, on any instance.
 * - The store holds a snapshot of every revoked id (a list of `["revoked"]`)
 *   with the generation read just before the listing. A batch whose read
 *   finds that generation again is answered from the snapshot: nothing was
 *   revoked between the two reads, so the listing is exactly the revocations
 *   at that generation. A batch that finds another lists again; that listing
 *   (begun after its callers asked) answers it, and becomes the snapshot.
 * - Bounds: a snapshot answers for {@link MAX_SNAPSHOT_AGE_MS} at most (a
 *   revocation written by an older release does not move the generation);
 *   past {@link MAX_HELD_REVOCATIONS} live revocations, or while sign-outs
 *   move the generation between every batch ({@link MAX_UNUSED_SNAPSHOTS}),
 *   lookups read their ids with `getMany` as before.
 *
 * Live sockets are re-checked every few seconds: such a re-check first reads
 * the generation and asks about every session only when it moved
 * (`ConnectionRegistry.enforceSessions`).
 *
 * Keys:
 * ```
 * ["revoked", sid]          expiry time (ms since the epoch; older releases: true), with expireIn
 * ["revoked_generation"]    time of the last revocation, rewritten with each
 * ```
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
/**
 * Revocations a snapshot holds at most. Each live sign-out is an entry until
 * its token would have expired; a deployment with more lists no snapshot and
 * reads each lookup's ids, paying what every deployment paid before (about a
 * megabyte held, and a listing of this many entries, is the most a snapshot
 * costs).
 */
export const MAX_HELD_REVOCATIONS = 10_000;
/**
 * Longest a snapshot answers, ms, even while the generation stays (as
 * `MAX_RULES_VIEW_AGE_MS` for rooms' rules): a revocation written by an
 * older release, which did not move the generation, is seen within it. Also
 * how long a store past {@link MAX_HELD_REVOCATIONS} reads ids before it
 * tries to list again.
 */
export const MAX_SNAPSHOT_AGE_MS = 60_000;
/**
 * Snapshots listed in a row that answered no later batch, because the
 * generation moved before the next read (sign-outs faster than lookups
 * batch). Past it, lookups read their ids until the generation holds still
 * between two reads, rather than list every revocation for each batch.
 */
export const MAX_UNUSED_SNAPSHOTS = 3;
/** Entries per page of a snapshot's listing (the most Deno KV reads at once). */
const LIST_PAGE = 1_000;

/**
 * What the store holds between batches:
 * - `none`: nothing yet;
 * - `snapshot`: every revoked id with its expiry, listed after a read that
 *   found `generation`, begun at `loadedAt`; `used` once a later read found
 *   the same generation (so it is exact there);
 * - `large`: more than {@link MAX_HELD_REVOCATIONS} were listed at
 *   `loadedAt`: ids are read until the snapshot age passes;
 * - `moving`: too many snapshots went unused: ids are read until a read finds
 *   `generation` again.
 */
type Held =
  | { kind: "none" }
  | {
    kind: "snapshot";
    generation: string | null;
    revoked: Map<string, number>;
    loadedAt: number;
    used: boolean;
  }
  | { kind: "large"; loadedAt: number }
  | { kind: "moving"; generation: string | null };

/**
 * When a stored entry stops revoking, ms since the epoch: the expiry it
 * carries, or never for an older release's `true` (KV drops that entry at
 * its expiry, and a later listing goes without it).
 */
function expiryOf(value: unknown): number {
  return typeof value === "number" ? value : Infinity;
}

/** {@link RevocationStore} on Deno KV: `["revoked", sid]` with `expireIn`. */
export class KvRevocationStore implements RevocationStore {
  /** Lookups (each a list of ids) asked while a read is in flight, read together next. */
  readonly #lookups = new NextBatch<readonly string[], Set<string>>(
    (lookups) => this.#read(lookups),
  );
  #held: Held = { kind: "none" };
  /** Snapshots replaced in a row without answering a later batch. */
  #unused = 0;

  /**
   * `clock` (ms since the epoch) tells a snapshot's age and which entries
   * expired, and times the entries `revoke` writes (tests move it).
   */
  constructor(
    private readonly kv: Deno.Kv,
    private readonly clock: () => number = Date.now,
  ) {}

  async revoke(sid: string, expiresAt: number): Promise<void> {
    const now = this.clock();
    const ttl = Math.max(MIN_REVOCATION_TTL_MS, expiresAt - now);
    // One write: whoever sees the new generation also sees the entry.
    const result = await this.kv.atomic()
      .set(["revoked", sid], now + ttl, { expireIn: ttl })
      .set(GENERATION_KEY, now)
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

  /** Answers a batch of lookups: each lookup's revoked ids. */
  async #read(lookups: readonly (readonly string[])[]): Promise<Set<string>[]> {
    const ids = [...new Set(lookups.flat())];
    const revoked = await this.#revokedOf(ids);
    return lookups.map((sids) =>
      new Set(sids.filter((sid) => revoked.has(sid)))
    );
  }

  /** Which of `ids` are revoked, by reads begun now (see the module's documentation). */
  async #revokedOf(ids: readonly string[]): Promise<Set<string>> {
    const held = this.#held;
    if (held.kind === "large" && !this.#stale(held.loadedAt)) {
      return await this.#readIds(ids);
    }
    const generation = await this.generation();
    const now = this.clock();
    if (held.kind === "snapshot" && !this.#stale(held.loadedAt)) {
      if (held.generation === generation) {
        held.used = true;
        this.#unused = 0;
        return liveAmong(held.revoked, ids, now);
      }
      if (!held.used) this.#unused++;
    }
    const settled = held.kind === "moving" && held.generation === generation;
    if (this.#unused >= MAX_UNUSED_SNAPSHOTS && !settled) {
      this.#held = { kind: "moving", generation };
      return await this.#readIds(ids);
    }
    const revoked = await this.#list(now);
    if (!revoked) {
      this.#held = { kind: "large", loadedAt: now };
      return await this.#readIds(ids);
    }
    // Listed after the read of `generation`: exact there if a later read finds it again.
    this.#held = {
      kind: "snapshot",
      generation,
      revoked,
      loadedAt: now,
      used: false,
    };
    return liveAmong(revoked, ids, now);
  }

  /** Every revoked id not expired at `now`, with its expiry; null past {@link MAX_HELD_REVOCATIONS}. */
  async #list(now: number): Promise<Map<string, number> | null> {
    const revoked = new Map<string, number>();
    let listed = 0;
    const entries = this.kv.list({ prefix: ["revoked"] }, {
      limit: MAX_HELD_REVOCATIONS + 1,
      batchSize: LIST_PAGE,
    });
    for await (const { key: [, sid], value } of entries) {
      if (++listed > MAX_HELD_REVOCATIONS) return null;
      const expiry = expiryOf(value);
      if (typeof sid === "string" && expiry > now) revoked.set(sid, expiry);
    }
    return revoked;
  }

  /** Whether a snapshot begun at `loadedAt` is older than {@link MAX_SNAPSHOT_AGE_MS}. */
  #stale(loadedAt: number): boolean {
    return this.clock() - loadedAt >= MAX_SNAPSHOT_AGE_MS;
  }

  /** Which of `ids` are revoked, read one key each (`getMany`s of up to 10). */
  async #readIds(ids: readonly string[]): Promise<Set<string>> {
    const entries = await getManyChunked(
      this.kv,
      ids.map((sid) => ["revoked", sid]),
    );
    return new Set(ids.filter((_, i) => entries[i].value !== null));
  }
}

/** The ids among `ids` that `revoked` holds with an expiry after `now`. */
function liveAmong(
  revoked: ReadonlyMap<string, number>,
  ids: readonly string[],
  now: number,
): Set<string> {
  return new Set(ids.filter((id) => (revoked.get(id) ?? -Infinity) > now));
}

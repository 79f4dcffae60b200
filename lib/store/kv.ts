/**
 * Opening Deno KV: Deno Deploy's own database when `path` is undefined, a
 * remote database over KV Connect when it is an `https://` URL (shared by
 * instances on several machines), a local file (its folder created), or
 * `:memory:`.
 *
 * @module
 */

/**
 * Whether `path` (as {@link openKv} takes it) is a remote database over KV
 * Connect, which processes on several machines can share, rather than a
 * local file or `:memory:`.
 *
 * @example
 * ```ts
 * isKvConnect("https://kv.example.com"); // true
 * isKvConnect("./data/roomcast.kv"); // false
 * ```
 */
export function isKvConnect(path: string | undefined): boolean {
  return path !== undefined && /^https?:\/\//.test(path);
}

/**
 * Attempts to open a file another process is opening at the same moment:
 * SQLite may answer "database is locked" while the other sets the file up
 * (seen once in CI, with two servers of a cluster test starting together);
 * the wait between attempts grows to 100 ms, so about 5 s in all.
 */
export const OPEN_BUSY_ATTEMPTS = 50;

/**
 * Opens the KV database at `path`, retrying while another process holds the
 * file's lock ({@link OPEN_BUSY_ATTEMPTS}). `open` is `Deno.openKv` (tests
 * stand in for a race they cannot time).
 *
 * @example
 * ```ts
 * const kv = await openKv("./data/roomcast.kv");
 * ```
 */
export async function openKv(
  path: string | undefined,
  open: (path?: string) => Promise<Deno.Kv> = Deno.openKv,
): Promise<Deno.Kv> {
  // A URL is a remote database over KV Connect (needs DENO_KV_ACCESS_TOKEN).
  if (path && path !== ":memory:" && !/^https?:\/\//.test(path)) {
    const dir = path.replace(/[^/]+$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  for (let attempt = 1;; attempt++) {
    try {
      return await open(path);
    } catch (err) {
      if (!isBusy(err) || attempt >= OPEN_BUSY_ATTEMPTS) throw err;
      await new Promise((r) =>
        setTimeout(r, Math.min(100, 2 ** attempt) * (0.5 + Math.random() / 2))
      );
    }
  }
}

/** Checks one atomic write may carry on a local KV file or `:memory:` (the CLI's limit, Deno 2.9). */
export const LOCAL_MAX_CHECKS = 100;
/**
 * Checks one atomic write may carry on a remote database. Self-hosted
 * `denokv` (KV Connect) refuses more than 10 ("Too many checks included in
 * atomic write"); Deno Deploy does not document its limit, so it gets the
 * same.
 */
export const REMOTE_MAX_CHECKS = 10;

/**
 * Checks per atomic write the database at `path` (as {@link openKv} takes
 * it) accepts: {@link REMOTE_MAX_CHECKS} for KV Connect URLs and for Deno
 * Deploy's database (no path), {@link LOCAL_MAX_CHECKS} for a file or
 * `:memory:`.
 *
 * @example
 * ```ts
 * maxChecksFor("https://kv.example.com"); // 10
 * maxChecksFor("./data/roomcast.kv"); // 100
 * ```
 */
export function maxChecksFor(path: string | undefined): number {
  return path === undefined || isKvConnect(path)
    ? REMOTE_MAX_CHECKS
    : LOCAL_MAX_CHECKS;
}

/** Keys one `kv.getMany` call takes at most (Deno KV's limit). */
export const KV_GET_MANY_MAX = 10;

/**
 * `kv.getMany` for any number of keys: chunks of {@link KV_GET_MANY_MAX},
 * read concurrently, entries in the order of `keys`.
 *
 * @example
 * ```ts
 * const entries = await getManyChunked<boolean>(kv, sids.map((s) => ["revoked", s]));
 * ```
 */
export async function getManyChunked<T = unknown>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const chunks: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += KV_GET_MANY_MAX) {
    chunks.push(kv.getMany<T[]>(keys.slice(i, i + KV_GET_MANY_MAX)));
  }
  return (await Promise.all(chunks)).flat();
}

/**
 * Whether `err` is SQLite's "database is locked": another writer holds the
 * file (another process, or another connection of this one). A lost race,
 * worth retrying.
 */
export function isBusy(err: unknown): boolean {
  return err instanceof Error &&
    /database is locked|SQLITE_BUSY/i.test(err.message);
}

/**
 * Whether `err` is Deno KV refusing an atomic write for its size (a value
 * past 64 KiB, the write past 800 KiB, too many checks or mutations): the
 * same write never goes through, a smaller one may.
 */
export function isTooLarge(err: unknown): boolean {
  return err instanceof Error && /too large|too many/i.test(err.message);
}

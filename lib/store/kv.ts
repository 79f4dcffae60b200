/**
 * Opening Deno KV: Deno Deploy's own database when `path` is undefined, a
 * remote database over KV Connect when it is an `https://` URL (shared by
 * instances on several machines), a local file (its folder created), or
 * `:memory:`.
 *
 * @module
 */

/**
 * Opens the KV database at `path`.
 *
 * @example
 * ```ts
 * const kv = await openKv("./data/roomcast.kv");
 * ```
 */
export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  // A URL is a remote database over KV Connect (needs DENO_KV_ACCESS_TOKEN).
  if (path && path !== ":memory:" && !/^https?:\/\//.test(path)) {
    const dir = path.replace(/[^/]+$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return await Deno.openKv(path);
}

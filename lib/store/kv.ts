/**
 * Opening Deno KV: Deno Deploy's own database when `path` is undefined, a
 * local file otherwise (its folder created), or `:memory:`.
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
  if (path && path !== ":memory:") {
    const dir = path.replace(/[^/]+$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return await Deno.openKv(path);
}

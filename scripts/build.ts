/**
 * `deno task build`: builds islands and assets. With `--if-stale`, does
 * nothing when `_build/` is already current (used by `start`, `test`,
 * `bench`); `scripts/dev.ts` builds the same way on every (re)start.
 *
 * @module
 */
import { build, isStale } from "../lib/web/build.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Builds `_build/` and `manifest.gen.ts` in the project root — with
 * `ifStale`, only when their inputs changed since the last build — and says
 * what it built on stderr. Returns whether it built.
 */
export async function runBuild(
  { ifStale = false }: { ifStale?: boolean } = {},
): Promise<boolean> {
  if (ifStale && !await isStale(ROOT)) return false;
  const started = performance.now();
  const assets = await build(ROOT);
  console.error(
    `built ${assets.islands} and ${
      assets.styles.length + assets.scripts.length
    } assets in ${Math.round(performance.now() - started)} ms`,
  );
  return true;
}

if (import.meta.main) {
  await runBuild({ ifStale: Deno.args.includes("--if-stale") });
}

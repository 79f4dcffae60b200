/**
 * `deno task build`: builds islands and assets. With `--if-stale`, does
 * nothing when `_build/` is already current (used by `start`, `test`, `bench`).
 */
import { build, isStale } from "../lib/web/build.ts";

const root = new URL("..", import.meta.url).pathname;
if (Deno.args.includes("--if-stale") && !await isStale(root)) Deno.exit(0);
const started = performance.now();
const assets = await build(root);
console.error(
  `built ${assets.islands} and ${
    assets.styles.length + assets.scripts.length
  } assets in ${Math.round(performance.now() - started)} ms`,
);

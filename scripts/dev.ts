/**
 * `deno task dev`: the server for development, run under
 * `deno run --watch=routes/,islands/,components/,lib/,static/`, which
 * restarts this whole script when any of those — or any module it loaded,
 * `main.ts`'s neighbours and `manifest.gen.ts` included — changes.
 *
 * Every start first rebuilds the island bundle, the assets and
 * `manifest.gen.ts` if their inputs changed (so the browser never runs stale
 * island code and a new route is mounted), then loads the app and serves it
 * as `main.ts` does, with two differences: one instance (`WORKERS` is
 * ignored), and no signal handlers, so one Ctrl-C (or SIGTERM) ends the
 * watcher too — under `--watch`, a script that exits on its own (as
 * `main.ts`'s graceful stop does) leaves the watcher waiting for the next
 * change.
 *
 * @module
 */
import { runBuild } from "./build.ts";

await runBuild({ ifStale: true });
// Loaded only now, so the app reads the manifest and assets just built.
const { loadConfig } = await import("../lib/config.ts");
const { startInstance } = await import("../lib/instance.ts");
const { manifest } = await import("../manifest.gen.ts");
await startInstance(loadConfig(), manifest);

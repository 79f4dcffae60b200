import type { AppEnv } from "../lib/context.ts";
import type { Handlers } from "../lib/web/types.ts";
import {
  OFFLINE_PATH,
  serviceWorkerSource,
  shellUrls,
} from "../lib/web/service_worker.ts";
import { BUILD_DIR } from "../lib/web/build.ts";

/** The static files the manifest and every page name (see static/manifest.webmanifest). */
const STATIC_SHELL = [
  "/static/favicon.svg",
  "/static/manifest.webmanifest",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/static/icons/maskable-512.png",
  "/static/icons/apple-touch-icon.png",
];

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await filesUnder(dir, path));
    else if (entry.isFile) out.push(path);
  }
  return out;
}

/** The source per build (the build's files change only with a new build). */
let cached: { version: string; source: string } | null = null;

/** `/sw.js`: the service worker (lib/web/service_worker.ts) with this build's shell. */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const { assets, root } = c.get("services");
    if (cached?.version !== assets.inputHash) {
      const built = await filesUnder(`${root}/${BUILD_DIR}`);
      cached = {
        version: assets.inputHash,
        source: serviceWorkerSource({
          version: assets.inputHash.slice(0, 16),
          shell: shellUrls(built, STATIC_SHELL),
          offline: OFFLINE_PATH,
        }),
      };
    }
    return c.body(cached.source, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      // Browsers check for a new worker on navigations; never serve a stale one.
      "Cache-Control": "no-cache",
    });
  },
};

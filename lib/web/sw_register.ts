/**
 * Registers the app's service worker (`/sw.js`, see `service_worker.ts`)
 * once the page has loaded, where the browser has service workers. Bundled
 * with the islands by `deno task build`; browser only.
 *
 * @module
 */

import { SERVICE_WORKER_PATH } from "./service_worker.ts";

/**
 * Registers `/sw.js` after the page's `load` (so caching the shell never
 * competes with the page's own first load). A refusal (a private window, a
 * policy) leaves the app as it is without one.
 *
 * @example
 * ```ts
 * registerServiceWorker();
 * ```
 */
export function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator)) return;
  const register = () => {
    navigator.serviceWorker.register(SERVICE_WORKER_PATH).catch(() => {});
  };
  if (document.readyState === "complete") register();
  else addEventListener("load", register, { once: true });
}

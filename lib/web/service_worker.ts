/**
 * The service worker that makes the app installable and lets a room open
 * offline: the app shell (the build's hashed files, the icons, an offline
 * page) is cached at install; pages the visitor opened are kept, network
 * first, to open again offline. Never cached: the API, WebSocket traffic (a
 * service worker never sees it), anything but a GET, and pages across
 * sign-ins — every sign-in or sign-out (a non-GET to `/api/session/` or
 * `/api/auth/`) empties the page cache, and a new build empties every cache.
 *
 * The worker's code is {@link serviceWorkerMain}, written in TypeScript and
 * type-checked here, sent as its source with its settings (`/sw.js`,
 * `routes/sw.js.ts`). It runs no inline script, so the strict CSP holds.
 *
 * @module
 */

/** What the worker is started with. */
export interface ServiceWorkerSettings {
  /** The build's input hash: a new build is a new worker with fresh caches. */
  version: string;
  /** Same-origin URLs cached at install (the shell). */
  shell: string[];
  /** The page shown for a navigation with no network and no kept copy. */
  offline: string;
}

/** The page shown offline when a page was never opened before. */
export const OFFLINE_PATH = "/offline";
/** Where the worker is served; at the root, so its scope is the whole app. */
export const SERVICE_WORKER_PATH = "/sw.js";

/** Files of `_build/` that are not served to browsers. */
const NOT_SERVED = /(^|\/)(assets\.json|islands\.entry\.ts)$/;

/**
 * The shell to cache at install: every built file (`_build/`, given as paths
 * relative to it), the static files a page or the manifest names, and the
 * offline page.
 *
 * @example
 * ```ts
 * shellUrls(["islands.3f2a.js", "assets.json"], ["/static/favicon.svg"]);
 * // ["/_build/islands.3f2a.js", "/static/favicon.svg", "/offline"]
 * ```
 */
export function shellUrls(
  buildFiles: string[],
  staticUrls: string[],
): string[] {
  const built = buildFiles.filter((f) => !NOT_SERVED.test(f))
    .map((f) => `/_build/${f}`).sort();
  return [...built, ...staticUrls, OFFLINE_PATH];
}

/**
 * Whether a same-origin path is a page the worker keeps a copy of: the lobby
 * and rooms.
 *
 * @example
 * ```ts
 * isKeptPage("/chat/general"); // true
 * isKeptPage("/api/rooms");    // false
 * ```
 */
export function isKeptPage(path: string): boolean {
  return path === "/" || /^\/chat\/[a-z0-9_-]{1,64}$/.test(path);
}

/**
 * Whether a request changes who is signed in (its page cache must go).
 *
 * @example
 * ```ts
 * changesSession("POST", "/api/session/signout"); // true
 * changesSession("GET", "/api/session");          // false
 * ```
 */
export function changesSession(method: string, path: string): boolean {
  return method !== "GET" && /^\/api\/(session|auth)\//.test(path);
}

/** The worker's source: its code, called with its settings. */
export function serviceWorkerSource(settings: ServiceWorkerSettings): string {
  return [
    "// Roomcast's service worker (lib/web/service_worker.ts).",
    `const isKeptPage = ${isKeptPage.toString()};`,
    `const changesSession = ${changesSession.toString()};`,
    `(${serviceWorkerMain.toString()})(${JSON.stringify(settings)});`,
    "",
  ].join("\n");
}

/** The few service worker types used (Deno's libs do not declare them). */
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
interface WorkerScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(
    type: "install" | "activate",
    fn: (e: ExtendableEvent) => void,
  ): void;
  addEventListener(type: "fetch", fn: (e: FetchEvent) => void): void;
}

/**
 * The service worker itself; runs in the browser, in the worker's scope.
 * Refers only to its argument, browser globals, and the two helpers the
 * source defines beside it ({@link isKeptPage}, {@link changesSession}).
 */
export function serviceWorkerMain(settings: ServiceWorkerSettings): void {
  const sw = self as unknown as WorkerScope;
  const SHELL = `roomcast-shell-${settings.version}`;
  const PAGES = `roomcast-pages-${settings.version}`;

  sw.addEventListener("install", (event) => {
    event.waitUntil((async () => {
      const cache = await caches.open(SHELL);
      await cache.addAll(settings.shell.filter((u) => u !== settings.offline));
      // The offline page names no one: fetched without the session cookie.
      const offline = await fetch(settings.offline, { credentials: "omit" });
      if (offline.ok) await cache.put(settings.offline, offline);
      await sw.skipWaiting();
    })());
  });

  sw.addEventListener("activate", (event) => {
    event.waitUntil((async () => {
      for (const name of await caches.keys()) {
        if (name !== SHELL && name !== PAGES) await caches.delete(name);
      }
      await sw.clients.claim();
    })());
  });

  /** The shell's files are named by their content: the cached copy is the file. */
  const cacheFirst = async (request: Request): Promise<Response> => {
    const cached = await caches.match(request, { cacheName: SHELL });
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(SHELL);
      await cache.put(request, response.clone());
    }
    return response;
  };

  /** `static/` files keep their names when they change: the network's copy, the cached one offline. */
  const networkThenShell = async (request: Request): Promise<Response> => {
    try {
      const response = await fetch(request);
      if (response.ok) {
        const cache = await caches.open(SHELL);
        await cache.put(request, response.clone());
      }
      return response;
    } catch (err) {
      const cached = await caches.match(request, { cacheName: SHELL });
      if (cached) return cached;
      throw err;
    }
  };

  /** Pages: the network's answer (a copy kept), else the kept copy, else the offline page. */
  const networkFirst = async (request: Request): Promise<Response> => {
    try {
      const response = await fetch(request);
      const html = (response.headers.get("content-type") ?? "")
        .startsWith("text/html");
      if (response.status === 200 && html && !response.redirected) {
        const cache = await caches.open(PAGES);
        await cache.put(request, response.clone());
      }
      return response;
    } catch (err) {
      const kept = await caches.match(request, { cacheName: PAGES }) ??
        await caches.match(settings.offline, { cacheName: SHELL });
      if (kept) return kept;
      throw err;
    }
  };

  sw.addEventListener("fetch", (event) => {
    const { request } = event;
    const url = new URL(request.url);
    if (url.origin !== sw.location.origin) return;
    if (request.method !== "GET") {
      // Whoever signs in or out next must not get the last person's pages.
      if (changesSession(request.method, url.pathname)) {
        event.waitUntil(caches.delete(PAGES));
      }
      return;
    }
    if (url.pathname.startsWith("/_build/")) {
      event.respondWith(cacheFirst(request));
    } else if (url.pathname.startsWith("/static/")) {
      event.respondWith(networkThenShell(request));
    } else if (request.mode === "navigate" && isKeptPage(url.pathname)) {
      event.respondWith(networkFirst(request));
    }
    // Everything else (the API, probes, /sw.js itself) goes to the network untouched.
  });
}

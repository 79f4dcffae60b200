/**
 * Shared helpers for the browser tests: launches Debian's Chromium through
 * playwright-core, opens isolated contexts, signs guests in (through the real
 * UI or with a cookie minted by the real endpoint) and records what a strict
 * CSP would complain about.
 *
 * @module
 */

import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { withTimeout } from "../../lib/async.ts";

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = "/usr/bin/chromium";
/** Upper bound for any single wait on the page (events, not sleeps). */
export const WAIT_MS = 15_000;
/** Desktop viewport used unless a test asks otherwise. */
export const DESKTOP = { width: 1280, height: 800 } as const;
/** A small phone. */
export const PHONE = { width: 375, height: 740 } as const;

/** Launches headless Chromium with networking features that reach outside turned off. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** What the page reported that a test may want to assert on. */
export interface PageWatch {
  /** `securitypolicyviolation` events: "directive blockedURI". */
  readonly cspViolations: string[];
  /** `console.error` messages (CSP refusals are reported here too). */
  readonly consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[];
  /** Requests that went anywhere but the test server. */
  readonly foreignRequests: string[];
}

/** What a browser session needs of a server: where it is. */
export interface Origin {
  /** `http://127.0.0.1:PORT` */
  origin: string;
}

export interface Session<S extends Origin = TestServer> {
  browser: Browser;
  server: S;
  /** A fresh, isolated context (its own cookies) with one page, watched. */
  open(options?: OpenOptions): Promise<Tab>;
  close(): Promise<void>;
}

export interface OpenOptions {
  viewport?: { width: number; height: number };
  colorScheme?: "light" | "dark";
  /** The browser's time zone (default UTC). */
  timezoneId?: string;
  /**
   * Let the app's service worker install (default: blocked, so a test that
   * stops the server sees the network's answer, not a kept copy).
   */
  serviceWorkers?: "allow" | "block";
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  watch: PageWatch;
}

/**
 * Runs in every document before its own scripts: records CSP violations,
 * every value the status badge takes, from the server-rendered one on (a
 * MutationObserver sees parser-inserted nodes too), and every notice the
 * room shows, so tests can assert on short-lived states without racing them.
 */
const WATCH_SCRIPT = () => {
  const w = window as unknown as {
    __csp: string[];
    __statuses: string[];
    __notices: string[];
  };
  w.__csp = [];
  w.__statuses = [];
  w.__notices = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
  new MutationObserver(() => {
    const el = document.querySelector('[data-testid="status"]');
    const value = el?.getAttribute("data-status");
    if (value && w.__statuses.at(-1) !== value) w.__statuses.push(value);
    const notice = document.querySelector(".room-notice")?.textContent ?? "";
    if (notice && w.__notices.at(-1) !== notice) w.__notices.push(notice);
  }).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["data-status"],
  });
};

/** Every notice the room in the current document has shown, in order. */
export function noticeHistory(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { __notices: string[] }).__notices
  );
}

/** Every value the status badge of the current document has taken, in order. */
export function statusHistory(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { __statuses: string[] }).__statuses
  );
}

/**
 * Starts a browser for `server`. Every context gets the test server as its
 * base URL, a bounded default timeout, and a watch on CSP violations,
 * console errors, page errors and requests to other hosts.
 */
export async function openSession<S extends Origin>(
  server: S,
): Promise<Session<S>> {
  const browser = await launchBrowser();
  const contexts: BrowserContext[] = [];
  let closing = false;
  browser.on("disconnected", () => {
    if (!closing) console.error("e2e: Chromium disconnected unexpectedly");
  });
  return {
    browser,
    server,
    async open(options = {}) {
      const context = await browser.newContext({
        baseURL: server.origin,
        viewport: options.viewport ?? DESKTOP,
        colorScheme: options.colorScheme ?? "light",
        locale: "en-US",
        timezoneId: options.timezoneId ?? "UTC",
        serviceWorkers: options.serviceWorkers ?? "block",
      });
      contexts.push(context);
      context.setDefaultTimeout(WAIT_MS);
      await context.addInitScript(WATCH_SCRIPT);
      const watch: PageWatch = {
        cspViolations: [],
        consoleErrors: [],
        pageErrors: [],
        foreignRequests: [],
      };
      const page = await context.newPage();
      page.on("console", (msg) => {
        if (msg.type() === "error") watch.consoleErrors.push(msg.text());
      });
      page.on("pageerror", (err) => watch.pageErrors.push(String(err)));
      page.on("crash", () => watch.pageErrors.push("the page crashed"));
      page.on("request", (req) => {
        const url = new URL(req.url());
        if (url.protocol !== "data:" && url.origin !== server.origin) {
          watch.foreignRequests.push(req.url());
        }
      });
      // The page's own list survives only until it navigates; copy it out on each load.
      page.on("load", () => {
        collectCsp(page, watch).catch(() => {});
      });
      return { context, page, watch };
    },
    async close() {
      closing = true;
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
    },
  };
}

async function collectCsp(page: Page, watch: PageWatch): Promise<void> {
  const list = await page.evaluate(() =>
    (window as unknown as { __csp?: string[] }).__csp ?? []
  );
  for (const v of list) {
    if (!watch.cspViolations.includes(v)) watch.cspViolations.push(v);
  }
}

/** Reads the CSP violations the current document has seen so far into `watch`. */
export async function cspViolations(tab: Tab): Promise<string[]> {
  await collectCsp(tab.page, tab.watch);
  return tab.watch.cspViolations;
}

/**
 * Runs `fn` with a started server and browser, closing both afterwards (even
 * when `fn` throws). When it throws, a screenshot of every open page goes to
 * `test-artifacts/`.
 */
export async function withSession(
  name: string,
  fn: (session: Session) => Promise<void>,
): Promise<void> {
  // Browser tests seed history by posting dozens of messages as one user; the
  // flood limits themselves are tested in tests/routes and tests/chat.
  const server = await startServer({ RATE_LIMIT_BURST: "1000" });
  try {
    await withBrowser(name, server, fn);
  } finally {
    await server.close();
  }
}

/**
 * Runs `fn` with a browser for a server the caller started (and closes),
 * closing the browser afterwards; screenshots every open page when `fn`
 * throws.
 */
export async function withBrowser<S extends Origin>(
  name: string,
  server: S,
  fn: (session: Session<S>) => Promise<void>,
): Promise<void> {
  let session: Session<S> | undefined;
  try {
    session = await openSession(server);
    await withTimeout(fn(session), BROWSER_TEST_BOUND_MS, `"${name}"`);
  } catch (err) {
    if (session) {
      await withTimeout(
        failureShots(session.browser, name),
        CLEANUP_BOUND_MS,
        "failure screenshots",
      ).catch(() => {});
    }
    throw err;
  } finally {
    if (session) {
      await withTimeout(session.close(), CLEANUP_BOUND_MS, "browser close");
    }
  }
}

/**
 * Longest a browser test may run: each Playwright wait has its own timeout
 * (WAIT_MS), but a wait outside Playwright that never ends would otherwise
 * hold the whole suite (and CI) until it is killed. Busy runs take < 30 s.
 */
const BROWSER_TEST_BOUND_MS = 180_000;
/** Longest the screenshots and the browser's close may take after a test. */
const CLEANUP_BOUND_MS = 30_000;

/** Where screenshots and other test output go (git-ignored). */
export const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

async function failureShots(browser: Browser, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  let i = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      const file = new URL(`${slug(name)}-failure-${i++}.png`, ARTIFACTS);
      await page.screenshot({ path: file.pathname }).catch(() => {});
    }
  }
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** Waits until every island on the page is hydrated. */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const islands = document.querySelectorAll("[data-island]");
    return islands.length > 0 &&
      [...islands].every((el) => el.getAttribute("data-hydrated") === "true");
  });
}

/** Waits for the status badge to show `status`. */
export async function statusIs(page: Page, status: string): Promise<void> {
  await page.locator(`[data-testid="status"][data-status="${status}"]`)
    .waitFor();
}

/**
 * Signs in through the lobby's real UI: display name, "Join as guest", then
 * the room form's "Join". Ends on `/chat/<room>` with the socket live.
 */
export async function joinFromLobby(
  page: Page,
  name: string,
  room: string,
): Promise<void> {
  await page.goto("/");
  await hydrated(page);
  await page.getByLabel("Your display name").fill(name);
  await page.getByRole("button", { name: "Join as guest" }).click();
  // The island reloads the lobby signed in: the navbar then shows the name.
  await page.getByTestId("user-name").filter({ hasText: name }).waitFor();
  await page.getByLabel("Room").fill(room);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.waitForURL(`**/chat/${room}`);
  await hydrated(page);
  await statusIs(page, "live");
}

/**
 * Opens `/chat/<room>` signed out and uses the inline sign-in form there.
 * Ends with the socket live.
 */
export async function joinInline(
  page: Page,
  name: string,
  room: string,
): Promise<void> {
  await page.goto(`/chat/${room}`);
  await hydrated(page);
  await page.getByLabel("Your display name").fill(name);
  await page.getByRole("button", { name: "Join as guest" }).click();
  await page.getByTestId("user-name").filter({ hasText: name }).waitFor();
  await hydrated(page);
  await statusIs(page, "live");
}

/** Whatever mints a guest's session cookie through the real endpoint. */
export interface GuestMinter extends Origin {
  guest(name: string): Promise<{ cookie: string }>;
}

/**
 * Signs `name` in without the UI (a cookie minted by the real endpoint) and
 * opens the room, live. For tests about something other than signing in.
 */
export async function joinWithCookie(
  tab: Tab,
  server: GuestMinter,
  name: string,
  room: string,
): Promise<void> {
  const { cookie } = await server.guest(name);
  await useCookie(tab, server, cookie);
  await tab.page.goto(`/chat/${room}`);
  await hydrated(tab.page);
  await statusIs(tab.page, "live");
}

/** Puts a session `cookie` (`name=value`, as a sign-in sets it) in the tab's context. */
export async function useCookie(
  tab: Tab,
  server: Origin,
  cookie: string,
): Promise<void> {
  await tab.context.addCookies([{
    name: cookie.slice(0, cookie.indexOf("=")),
    value: cookie.slice(cookie.indexOf("=") + 1),
    url: server.origin,
    httpOnly: true,
    sameSite: "Lax",
  }]);
}

/** The composer's textarea. */
export function composer(page: Page): Locator {
  return page.locator("form.composer textarea");
}

/** The message list (the live region). */
export function messageLog(page: Page): Locator {
  return page.getByRole("log", { name: "Messages" });
}

/** Confirmed (stored) messages whose text is exactly `text`. */
export function confirmed(page: Page, text: string): Locator {
  return page.locator("li.message[data-seq] .message-text").filter({
    hasText: new RegExp(`^${escapeRegExp(text)}$`),
  });
}

/** Types `text` in the composer and presses Enter; waits until the server confirmed it. */
export async function send(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.fill(text);
  await box.press("Enter");
  await confirmed(page, text).waitFor();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Posts `text` to `room` as the guest holding `cookie`, through the real HTTP API. */
export async function postAs(
  server: TestServer,
  cookie: string,
  room: string,
  text: string,
): Promise<void> {
  const res = await fetch(`${server.origin}/api/rooms/${room}/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: server.origin,
      cookie,
    },
    body: JSON.stringify({ text }),
  });
  if (res.status !== 201) {
    throw new Error(`post failed: ${res.status} ${await res.text()}`);
  }
  await res.body?.cancel();
}

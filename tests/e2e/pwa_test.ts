/**
 * The installable app in Chromium: the service worker installs under the
 * strict CSP, a room opened once opens again with no network (the kept copy,
 * showing Offline), what is written there waits in the outbox and is sent
 * once the network is back; a page never opened gets the offline page; and a
 * sign-out empties the kept pages, so the next person gets none of them.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  composer,
  confirmed,
  cspViolations,
  hydrated,
  joinWithCookie,
  postAs,
  statusIs,
  withSession,
} from "./_browser.ts";
import { axeInto } from "./_axe.ts";

/** Waits until the service worker controls `page`. */
async function controlled(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/** The URLs in the service worker's page cache (whatever its version). */
function keptPages(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      if (!name.startsWith("roomcast-pages-")) continue;
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        urls.push(new URL(req.url).pathname);
      }
    }
    return urls;
  });
}

Deno.test("offline: a room opened before reloads from the service worker, shows Offline, keeps what is written in the outbox and sends it when back online", async () => {
  await withSession("pwa offline room", async (s) => {
    const ben = await s.server.guest("Ben");
    await postAs(s.server, ben.cookie, "trip", "before the trip");
    const tab = await s.open({ serviceWorkers: "allow" });
    const { page, context } = tab;
    await joinWithCookie(tab, s.server, "Ana", "trip");
    await controlled(page);
    // Opened once under the worker: now it keeps a copy.
    await page.reload();
    await hydrated(page);
    await statusIs(page, "live");
    await page.waitForFunction(async () => {
      for (const name of await caches.keys()) {
        if (!name.startsWith("roomcast-pages-")) continue;
        const kept = await (await caches.open(name)).match(location.href);
        if (kept) return true;
      }
      return false;
    });
    // Written after the copy was kept: only the network could show it.
    await postAs(s.server, ben.cookie, "trip", "while you were away");
    await confirmed(page, "while you were away").waitFor();

    await context.setOffline(true);
    const res = await page.reload();
    assert.ok(res?.fromServiceWorker(), "served by the service worker");
    await hydrated(page);
    await statusIs(page, "offline");
    await page.getByTestId("status").filter({ hasText: "Offline" }).waitFor();
    assert.equal(
      await confirmed(page, "while you were away").count(),
      0,
      "the kept copy, not the network's page",
    );
    await confirmed(page, "before the trip").waitFor();

    await composer(page).fill("written on the plane");
    await composer(page).press("Enter");
    await page.getByRole("button", { name: /^Discard/ }).waitFor();
    assert.equal(await confirmed(page, "written on the plane").count(), 0);

    await context.setOffline(false);
    await statusIs(page, "live");
    await confirmed(page, "written on the plane").waitFor();
    await confirmed(page, "while you were away").waitFor();
    assert.deepEqual(await cspViolations(tab), []);
    assert.deepEqual(tab.watch.pageErrors, []);
  });
});

Deno.test("offline: a page never opened gets the offline page with a way back; axe finds nothing on it", async () => {
  await withSession("pwa offline page", async (s) => {
    const tab = await s.open({ serviceWorkers: "allow" });
    const { page, context } = tab;
    await page.goto("/");
    await hydrated(page);
    await controlled(page);
    await context.setOffline(true);
    await page.goto("/chat/never-opened");
    await page.getByRole("heading", { name: "You're offline" }).waitFor();
    await page.getByRole("link", { name: "Back to the lobby" }).waitFor();
    const found: string[] = [];
    await axeInto(found, page, "the offline page");
    assert.deepEqual(found, [], found.join("\n"));
    await context.setOffline(false);
  });
});

Deno.test("a sign-out empties the kept pages: the next person at this browser gets none of them", async () => {
  await withSession("pwa sign-out", async (s) => {
    const tab = await s.open({ serviceWorkers: "allow" });
    const { page } = tab;
    await joinWithCookie(tab, s.server, "Ana", "private");
    await controlled(page);
    await page.reload();
    await hydrated(page);
    await page.waitForFunction(async () => {
      for (const name of await caches.keys()) {
        if (!name.startsWith("roomcast-pages-")) continue;
        if ((await (await caches.open(name)).keys()).length > 0) return true;
      }
      return false;
    });
    assert.deepEqual(await keptPages(page), ["/chat/private"]);
    // Signed out from this page (through the worker), without a reload
    // that would keep the visitor's page in its place.
    const status = await page.evaluate(async () => {
      const res = await fetch("/api/session/signout", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return res.status;
    });
    assert.equal(status, 200);
    await statusIs(page, "signed-out");
    await page.waitForFunction(async () => {
      for (const name of await caches.keys()) {
        if (!name.startsWith("roomcast-pages-")) continue;
        if ((await (await caches.open(name)).keys()).length > 0) return false;
      }
      return true;
    });
    // Offline now, the room is not Ana's kept page: the offline page instead.
    await tab.context.setOffline(true);
    await page.goto("/chat/private");
    await page.getByRole("heading", { name: "You're offline" }).waitFor();
    assert.equal(await page.getByText("Ana").count(), 0);
    await tab.context.setOffline(false);
  });
});

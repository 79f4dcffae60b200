/**
 * Real-browser tests: Debian's Chromium, driven by playwright-core, against
 * the real app started in this process. Every wait is on an event or a DOM
 * state (locators, waitForFunction), never a fixed sleep.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  ARTIFACTS,
  composer,
  confirmed,
  cspViolations,
  hydrated,
  joinFromLobby,
  joinInline,
  joinWithCookie,
  messageLog,
  PHONE,
  postAs,
  send,
  statusHistory,
  statusIs,
  type Tab,
  withSession,
} from "./_browser.ts";

/** Texts of the stored messages on the page, in order. */
function messageTexts(page: Page): Promise<string[]> {
  return page.locator("li.message[data-seq] .message-text").allInnerTexts();
}

/** Asserts the page reported no CSP violation, console error or page error. */
async function assertClean(tab: Tab): Promise<void> {
  assert.deepEqual(await cspViolations(tab), [], "CSP violations");
  assert.deepEqual(tab.watch.consoleErrors, [], "console errors");
  assert.deepEqual(tab.watch.pageErrors, [], "page errors");
  assert.deepEqual(tab.watch.foreignRequests, [], "requests off 127.0.0.1");
}

/** The message scroller's geometry. */
function scrollState(page: Page) {
  return page.locator(".message-scroller").evaluate((el) => ({
    top: el.scrollTop,
    fromBottom: el.scrollHeight - el.scrollTop - el.clientHeight,
    overflows: el.scrollHeight > el.clientHeight,
  }));
}

Deno.test("two guests in a room chat live; another room sees none of it", async () => {
  await withSession("two guests", async (s) => {
    const ana = await s.open();
    await joinFromLobby(ana.page, "Ana", "general");
    const ben = await s.open();
    await joinInline(ben.page, "Ben", "general");

    // The server renders "connecting"; the island turns it "live" once welcomed.
    for (const tab of [ana, ben]) {
      assert.deepEqual(await statusHistory(tab.page), ["connecting", "live"]);
      await assertClean(tab);
    }
    assert.equal(
      await ana.page.getByTestId("room-title").innerText(),
      "#general",
    );

    await send(ana.page, "hi Ben, it's Ana");
    await confirmed(ben.page, "hi Ben, it's Ana").waitFor();
    await send(ben.page, "hello Ana!");
    await confirmed(ana.page, "hello Ana!").waitFor();

    for (const tab of [ana, ben]) {
      assert.deepEqual(await messageTexts(tab.page), [
        "hi Ben, it's Ana",
        "hello Ana!",
      ]);
      const authors = await messageLog(tab.page).locator(".message-author")
        .allInnerTexts();
      assert.deepEqual(authors, ["Ana", "Ben"]);
    }
    // The sender's own copy is confirmed, not left pending.
    assert.equal(await ana.page.locator("li.message.pending").count(), 0);
    assert.equal(await ana.page.locator("li.message.mine").count(), 1);

    // Another room: its own marker arrives, and nothing from #general came before it.
    const cy = await s.open();
    await joinWithCookie(cy, s.server, "Cy", "random");
    await send(cy.page, "marker in random");
    await send(ana.page, "only for general");
    await confirmed(ben.page, "only for general").waitFor();
    await send(cy.page, "second marker in random");
    assert.deepEqual(await messageTexts(cy.page), [
      "marker in random",
      "second marker in random",
    ]);
    assert.deepEqual(await messageTexts(ben.page), [
      "hi Ben, it's Ana",
      "hello Ana!",
      "only for general",
    ]);
    await assertClean(cy);
  });
});

Deno.test("message text is shown as text, never run, under the strict CSP", async () => {
  const attack = `<img src=x onerror="window.__x=1">`;
  await withSession("xss", async (s) => {
    const ana = await s.open();
    const response = await ana.page.goto("/");
    const csp = response?.headers()["content-security-policy"] ?? "";
    assert.match(csp, /script-src 'self' 'nonce-[^']+'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await joinInline(ana.page, "Ana", "sec");
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", "sec");

    await send(ana.page, attack);
    await confirmed(ben.page, attack).waitFor();
    // Again from the server's rendering of history, not only the island's.
    await ben.page.reload();
    await hydrated(ben.page);
    await statusIs(ben.page, "live");

    for (const tab of [ana, ben]) {
      const { page } = tab;
      assert.deepEqual(await messageTexts(page), [attack]);
      assert.equal(await page.locator(".message-list img").count(), 0);
      assert.equal(
        await page.evaluate(() => (window as unknown as { __x?: number }).__x),
        undefined,
      );
      // The islands hydrated with the CSP on, and the CSP refused nothing.
      assert.ok(
        await page.locator("[data-island][data-hydrated=true]").count() > 0,
      );
      await assertClean(tab);
    }
  });
});

Deno.test("the room is usable on a 375 px wide phone", async () => {
  await withSession("phone", async (s) => {
    const tab = await s.open({ viewport: PHONE });
    await joinFromLobby(tab.page, "Ana Maria Longname-Example", "phone");
    const { page } = tab;
    // Someone with a long name joins: the toolbar's activity line must not widen the page.
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Benedict Okafor-Longname", "phone");
    await page.getByTestId("activity").filter({ hasText: "Benedict" })
      .waitFor();
    await send(page, "hello from a small screen");
    // A long unbroken word and a long link must wrap, not widen the page.
    await send(page, "x".repeat(300));
    await send(page, `https://example.com/${"a/".repeat(80)}`);

    const box = await composer(page).boundingBox();
    assert.ok(box, "composer is rendered");
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, "fits across");
    assert.ok(box.y >= 0 && box.y + box.height <= PHONE.height, "fits down");
    const send_ = await page.getByRole("button", { name: "Send" })
      .boundingBox();
    assert.ok(send_ && send_.x + send_.width <= PHONE.width, "send button");
    const signOut = await page.getByRole("button", { name: "Sign out" })
      .boundingBox();
    assert.ok(signOut && signOut.x + signOut.width <= PHONE.width, "sign out");
    assert.ok(
      await page.evaluate(() =>
        document.documentElement.scrollWidth <= innerWidth
      ),
      "no horizontal scrollbar",
    );
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("phone.png", ARTIFACTS).pathname });
    assert.ok(
      await page.evaluate(() => document.documentElement.scrollWidth) <=
        PHONE.width,
    );
    await assertClean(tab);
  });
});

Deno.test("after the server drops its sockets the room reconnects and keeps working", async () => {
  await withSession("reconnect", async (s) => {
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", "restart");
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", "restart");
    await send(ana.page, "before the restart");
    await confirmed(ben.page, "before the restart").waitFor();

    const closed = s.server.services.connections.closeWhere(
      () => true,
      1012,
      "restart",
    );
    assert.equal(closed, 2);
    for (const { page } of [ana, ben]) {
      await page.waitForFunction(() => {
        const h = (window as unknown as { __statuses: string[] }).__statuses;
        return h.join() === "connecting,live,reconnecting,live";
      });
      await statusIs(page, "live");
    }

    await send(ben.page, "after the restart");
    await confirmed(ana.page, "after the restart").waitFor();
    for (const { page } of [ana, ben]) {
      assert.deepEqual(await messageTexts(page), [
        "before the restart",
        "after the restart",
      ]);
    }
    await assertClean(ana);
    await assertClean(ben);
  });
});

Deno.test("new messages keep the view at the bottom, or leave a scrolled-up reader alone", async () => {
  await withSession("autoscroll", async (s) => {
    const room = "busy";
    const ben = await s.server.guest("Ben");
    for (let i = 1; i <= 40; i++) {
      await postAs(s.server, ben.cookie, room, `history message ${i}`);
    }
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Ana", room);
    const { page } = tab;
    await confirmed(page, "history message 40").waitFor();

    const start = await scrollState(page);
    assert.ok(start.overflows, "enough messages to scroll");
    assert.ok(start.fromBottom <= 1, "opens at the newest message");

    // At the bottom: an incoming message keeps the view there.
    await postAs(s.server, ben.cookie, room, "incoming at the bottom");
    await confirmed(page, "incoming at the bottom").waitFor();
    assert.ok((await scrollState(page)).fromBottom <= 1, "still at the bottom");
    assert.equal(await page.locator(".jump-latest").count(), 0);

    // Scroll up like a reader would, and wait until the page has settled there.
    await page.locator(".message-scroller").hover();
    await page.mouse.wheel(0, -600);
    await page.waitForFunction(() => {
      const el = document.querySelector(".message-scroller")!;
      return el.scrollHeight - el.scrollTop - el.clientHeight > 400;
    });
    const settled = await page.evaluate(() =>
      new Promise<number>((resolve) => {
        // Smooth scrolling may still be animating: wait for a frame without movement.
        const el = document.querySelector(".message-scroller")!;
        let last = -1;
        const check = () => {
          if (el.scrollTop === last) resolve(last);
          else {
            last = el.scrollTop;
            requestAnimationFrame(() => requestAnimationFrame(check));
          }
        };
        check();
      })
    );

    await postAs(s.server, ben.cookie, room, "incoming while reading");
    await confirmed(page, "incoming while reading").waitFor({
      state: "attached",
    });
    const jump = page.locator(".jump-latest");
    await jump.filter({ hasText: "1 new" }).waitFor();
    assert.equal((await scrollState(page)).top, settled, "view did not move");
    await postAs(s.server, ben.cookie, room, "another while reading");
    await jump.filter({ hasText: "2 new" }).waitFor();
    assert.equal((await scrollState(page)).top, settled, "view did not move");

    // The button brings the reader down and goes away.
    await jump.click();
    await jump.waitFor({ state: "detached" });
    assert.ok((await scrollState(page)).fromBottom <= 1, "jumped to latest");
    await postAs(s.server, ben.cookie, room, "incoming after jumping");
    await confirmed(page, "incoming after jumping").waitFor();
    assert.ok((await scrollState(page)).fromBottom <= 1, "follows again");

    // Sending your own message while scrolled up brings you to it.
    await page.locator(".message-scroller").evaluate((el) => el.scrollTop = 0);
    await page.waitForFunction(() =>
      document.querySelector(".message-scroller")!.scrollTop === 0
    );
    await send(page, "my own message");
    assert.ok((await scrollState(page)).fromBottom <= 1, "own message shown");
    await assertClean(tab);
  });
});

Deno.test("sign-out from the navbar returns to a signed-out page", async () => {
  await withSession("signout", async (s) => {
    const tab = await s.open();
    await joinFromLobby(tab.page, "Ana", "lounge");
    const { page } = tab;
    await send(page, "bye for now");
    // A second tab of the same browser, live in the same room.
    const other = await tab.context.newPage();
    await other.goto("/chat/lounge");
    await hydrated(other);
    await statusIs(other, "live");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Join as guest" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/chat/lounge");
    assert.equal(await page.getByTestId("user-name").count(), 0);
    assert.equal(
      await page.getByRole("button", { name: "Sign out" }).count(),
      0,
    );
    assert.equal(await composer(page).count(), 0);
    // History is still readable when signed out.
    await confirmed(page, "bye for now").waitFor();
    const cookies = await tab.context.cookies();
    assert.deepEqual(cookies.filter((c) => c.value !== ""), []);
    // The server closed the other tab's socket for good, and the tab says so.
    await statusIs(other, "signed-out");
    await other.getByRole("alert").filter({ hasText: "Sign in again" })
      .waitFor();
    await other.close();

    // And signing in again from here works.
    await joinInline(page, "Ana again", "lounge");
    await send(page, "back again");
    await assertClean(tab);
  });
});

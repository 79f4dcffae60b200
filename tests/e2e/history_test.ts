/**
 * Browser tests for history: what a reload renders on the server, the outbox
 * that holds messages written offline, the page without JavaScript, and
 * paging in older messages. Every wait is on an event or a DOM state.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import {
  composer,
  confirmed,
  DESKTOP,
  hydrated,
  joinWithCookie,
  postAs,
  send,
  statusIs,
  WAIT_MS,
  withSession,
} from "./_browser.ts";
import type { TestServer } from "../_helpers/server.ts";

/** Texts of the stored messages on the page, in order. */
function messageTexts(page: Page): Promise<string[]> {
  return page.locator("li.message[data-seq] .message-text").allInnerTexts();
}

/** The `data-seq` of every stored message on the page, in order. */
function seqs(page: Page): Promise<number[]> {
  return page.locator("li.message[data-seq]").evaluateAll((els) =>
    els.map((el) => Number(el.getAttribute("data-seq")))
  );
}

/** Asserts the page shows each stored message once, in ascending `seq` order. */
async function assertNoDuplicates(page: Page): Promise<void> {
  const list = await seqs(page);
  assert.equal(new Set(list).size, list.length, `duplicates in ${list}`);
  assert.deepEqual(list, [...list].sort((a, b) => a - b), "in seq order");
}

/** How often `text` is stored in `room` (server side, the source of truth). */
async function storedCount(
  server: TestServer,
  room: string,
  text: string,
): Promise<number> {
  const page = await server.services.store.recent(room, 100);
  return page.messages.filter((m) => m.text === text).length;
}

/** Pending (not yet stored) messages whose text is `text`. */
function pendingMessage(page: Page, text: string): Locator {
  return page.locator("li.message.pending .message-text").filter({
    hasText: text,
  });
}

Deno.test("a reload renders the room's history on the server, once, in order", async () => {
  await withSession("reload history", async (s) => {
    const room = "reload";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    const expected = [
      "first from Ana",
      "then Ben",
      "Ana again",
      "and Ben last",
    ];
    for (const [i, text] of expected.entries()) {
      await send((i % 2 === 0 ? ana : ben).page, text);
    }
    await confirmed(ana.page, "and Ben last").waitFor();

    const response = await ana.page.reload();
    assert.ok(response, "the reload got a response");
    // The server's HTML already holds the history, in order.
    const html = await response.text();
    const at = expected.map((text) => html.indexOf(`>${text}<`));
    assert.ok(at.every((i) => i > 0), `history in the HTML: ${at}`);
    assert.deepEqual(at, [...at].sort((a, b) => a - b), "in order");

    await hydrated(ana.page);
    await statusIs(ana.page, "live");
    // The island's welcome merges with the rendered history: nothing doubles.
    assert.deepEqual(await messageTexts(ana.page), expected);
    await assertNoDuplicates(ana.page);

    // And it is live: a new message lands after the history, once.
    await send(ben.page, "after the reload");
    await confirmed(ana.page, "after the reload").waitFor();
    assert.deepEqual(await messageTexts(ana.page), [
      ...expected,
      "after the reload",
    ]);
    await assertNoDuplicates(ana.page);
  });
});

Deno.test("a message written offline waits as pending and is delivered once on reconnect", async () => {
  await withSession("offline outbox", async (s) => {
    const room = "outbox";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    await send(ana.page, "before going offline");
    await confirmed(ben.page, "before going offline").waitFor();

    await ana.context.setOffline(true);
    // Chromium keeps an open WebSocket while "offline"; drop it from the server
    // so the island really is disconnected (its reconnects then fail offline).
    const dropped = s.server.services.connections.closeWhere(
      (scope) => scope.user.name === "Ana",
      1012,
      "x",
    );
    assert.equal(dropped, 1);
    await statusIs(ana.page, "reconnecting");

    const offlineText = "written while offline";
    await composer(ana.page).fill(offlineText);
    await composer(ana.page).press("Enter");
    await pendingMessage(ana.page, offlineText).waitFor();
    assert.equal(await composer(ana.page).inputValue(), "", "composer cleared");

    const meanwhile = ["while Ana was away 1", "while Ana was away 2"];
    for (const text of meanwhile) await send(ben.page, text);
    // Still offline: none of it reached Ana, and her message is still only hers.
    for (const text of meanwhile) {
      assert.equal(await confirmed(ana.page, text).count(), 0);
    }
    assert.equal(await storedCount(s.server, room, offlineText), 0);
    assert.equal(await pendingMessage(ana.page, offlineText).count(), 1);
    await statusIs(ana.page, "reconnecting");

    await ana.context.setOffline(false);
    await statusIs(ana.page, "live");
    await confirmed(ana.page, offlineText).waitFor();
    await ana.page.locator("li.message.pending").waitFor({ state: "detached" });
    await confirmed(ben.page, offlineText).waitFor();
    // A marker sent after it: once it arrives, every earlier frame has too.
    await send(ben.page, "marker after reconnect");
    await confirmed(ana.page, "marker after reconnect").waitFor();

    assert.equal(await storedCount(s.server, room, offlineText), 1);
    const expected = [
      "before going offline",
      ...meanwhile,
      offlineText,
      "marker after reconnect",
    ];
    for (const { page } of [ana, ben]) {
      assert.deepEqual(await messageTexts(page), expected);
      await assertNoDuplicates(page);
    }
    // It turned into an ordinary message of Ana's, and the outbox is empty.
    assert.equal(
      await ana.page.locator("li.message.mine[data-seq]").filter({
        hasText: offlineText,
      }).count(),
      1,
    );
    assert.equal(await ana.page.locator("li.message.pending").count(), 0);
    assert.deepEqual(
      await ana.page.evaluate(() =>
        Object.keys(localStorage).filter((k) =>
          k.startsWith("roomcast:outbox:")
        )
      ),
      [],
    );
  });
});

Deno.test("without JavaScript: sign in, read the history and post with plain forms", async () => {
  await withSession("no javascript", async (s) => {
    const room = "nojs";
    const ben = await s.server.guest("Ben");
    // Enough history that the message list scrolls.
    const history = range(1, 30).map((i) => `history ${i}`);
    for (const text of history) await postAs(s.server, ben.cookie, room, text);

    const context = await s.browser.newContext({
      baseURL: s.server.origin,
      viewport: DESKTOP,
      javaScriptEnabled: false,
    });
    try {
      context.setDefaultTimeout(WAIT_MS);
      const page = await context.newPage();
      await page.goto(`/chat/${room}`);
      assert.deepEqual(await messageTexts(page), history);

      // The sign-in form posts to /api/session/guest and is sent back here.
      await page.getByLabel("Your display name").fill("Noor");
      await page.getByRole("button", { name: "Join as guest" }).click();
      await page.getByTestId("user-name").filter({ hasText: "Noor" })
        .waitFor();
      assert.equal(new URL(page.url()).pathname, `/chat/${room}`);
      assert.deepEqual(await messageTexts(page), history);

      // The composer posts to /api/rooms/<room>/messages and redirects back.
      const text = "posted without JavaScript";
      await composer(page).fill(text);
      await page.getByRole("button", { name: "Send" }).click();
      await page.waitForURL(`**/chat/${room}#m31`);
      await confirmed(page, text).waitFor();
      assert.deepEqual(await messageTexts(page), [...history, text]);
      // The redirect's #m31 brings the new message into view.
      assert.ok(await inView(page, 31), "the posted message is in view");
      const mine = page.locator("li.message[data-seq='31']");
      assert.equal(await mine.locator(".message-author").innerText(), "Noor");
      assert.equal(await storedCount(s.server, room, text), 1);
      // Nothing ran: no island hydrated, the badge is still the server's.
      assert.equal(await page.locator("[data-hydrated]").count(), 0);
      assert.equal(
        await page.getByTestId("status").getAttribute("data-status"),
        "connecting",
      );
    } finally {
      await context.close();
    }
  });
});

/** Where `seq`'s message sits relative to the scroller's visible top, in px. */
function offsetOf(page: Page, seq: number): Promise<number> {
  return page.evaluate((seq) => {
    const scroller = document.querySelector(".message-scroller")!;
    const li = document.querySelector(`li.message[data-seq="${seq}"]`)!;
    return li.getBoundingClientRect().top -
      scroller.getBoundingClientRect().top;
  }, seq);
}

/** Whether `seq`'s message is (at least partly) inside the scroller's viewport. */
function inView(page: Page, seq: number): Promise<boolean> {
  return page.evaluate((seq) => {
    const scroller = document.querySelector(".message-scroller")!
      .getBoundingClientRect();
    const li = document.querySelector(`li.message[data-seq="${seq}"]`)!
      .getBoundingClientRect();
    return li.bottom > scroller.top && li.top < scroller.bottom;
  }, seq);
}

Deno.test("older messages page in from the top and the view stays where it was", async () => {
  await withSession("load older", async (s) => {
    const room = "archive";
    const ben = (await s.server.guest("Ben")).user;
    const cy = (await s.server.guest("Cy")).user;
    const TOTAL = 120;
    for (let i = 1; i <= TOTAL; i++) {
      await s.server.services.store.append({
        room,
        user: i % 2 ? ben : cy,
        text: `archived message ${i}`,
        clientId: crypto.randomUUID(),
      });
    }
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Ana", room);
    const { page } = tab;
    const scroller = page.locator(".message-scroller");
    const loadOlder = page.getByRole("button", { name: "Load older" });

    // The newest page (71–120) is rendered, at the bottom, with more to load.
    assert.deepEqual(await seqs(page), range(71, 120));
    await loadOlder.waitFor({ state: "attached" });
    assert.ok(
      await scroller.evaluate((el) =>
        el.scrollHeight - el.scrollTop - el.clientHeight <= 1
      ),
      "opens at the newest message",
    );

    // A reader part-way up clicks "Load older": the message at the top of the
    // view stays put while 21–70 arrive above it.
    await scroller.evaluate((el) => el.scrollTop = 200);
    await page.waitForFunction(() =>
      document.querySelector(".message-scroller")!.scrollTop === 200
    );
    const topSeq = await page.evaluate(() => {
      const top = document.querySelector(".message-scroller")!
        .getBoundingClientRect().top;
      const lis = document.querySelectorAll("li.message[data-seq]");
      const first = [...lis].find((li) =>
        li.getBoundingClientRect().bottom > top
      )!;
      return Number(first.getAttribute("data-seq"));
    });
    const topBefore = await offsetOf(page, topSeq);
    // The button is above the view (scrolling it in would load by itself): click it where it is.
    await loadOlder.dispatchEvent("click");
    await page.locator("li.message[data-seq='21']").waitFor({
      state: "attached",
    });
    assert.deepEqual(await seqs(page), range(21, 120));
    assert.ok(await inView(page, topSeq), `#${topSeq} still in view`);
    const topAfter = await offsetOf(page, topSeq);
    assert.ok(
      Math.abs(topAfter - topBefore) <= 40,
      `#${topSeq} moved from ${topBefore} to ${topAfter}`,
    );

    // Scrolling to the very top loads the rest (1–20); the previously first
    // message (21) stays in view where it was.
    const firstBefore = await scroller.evaluate((el) => {
      el.scrollTop = 0;
      // Read synchronously: the scroll event (and so the load) comes later.
      const li = el.querySelector('li.message[data-seq="21"]')!;
      return li.getBoundingClientRect().top - el.getBoundingClientRect().top;
    });
    await page.locator("li.message[data-seq='1']").waitFor({
      state: "attached",
    });
    await loadOlder.waitFor({ state: "detached" });
    assert.ok(await inView(page, 21), "#21 still in view");
    const firstAfter = await offsetOf(page, 21);
    assert.ok(
      Math.abs(firstAfter - firstBefore) <= 60,
      `#21 moved from ${firstBefore} to ${firstAfter}`,
    );

    // Everything, once, in order.
    assert.deepEqual(await seqs(page), range(1, TOTAL));
    const texts = await messageTexts(page);
    assert.equal(texts[0], "archived message 1");
    assert.equal(texts.at(-1), `archived message ${TOTAL}`);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

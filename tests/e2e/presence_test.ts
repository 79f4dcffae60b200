/**
 * Browser tests for who is here: the presence list, the typing indicator, and
 * the unread counter in the title while the tab is in the background. Every
 * wait is on an event or a DOM state, never a fixed sleep.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  composer,
  confirmed,
  joinWithCookie,
  send,
  withSession,
} from "./_browser.ts";
import { TYPING_TTL_MS } from "../../lib/chat/protocol.ts";

/** The names in the (opened) presence list, in order. */
function presentNames(page: Page): Promise<string[]> {
  return page.getByTestId("presence-list").locator("li .text-truncate")
    .allInnerTexts();
}

/** Waits until the presence summary reads exactly "<n> here". */
async function presenceCountIs(page: Page, n: number): Promise<void> {
  await page.getByTestId("presence-count").filter({
    hasText: new RegExp(`^\\s*${n} here\\s*$`),
  }).waitFor();
}

interface TextChange {
  text: string;
  /** `performance.now()` in the page when the change was seen. */
  at: number;
}

/**
 * Records every text the element with `data-testid=<id>` shows from now on,
 * with the page's own clock, so short-lived states are never missed.
 */
async function recordText(page: Page, id: string): Promise<void> {
  await page.evaluate((id) => {
    const w = window as unknown as {
      __texts?: Record<string, { text: string; at: number }[]>;
    };
    const el = document.querySelector(`[data-testid="${id}"]`)!;
    const log: { text: string; at: number }[] = [];
    (w.__texts ??= {})[id] = log;
    const note = () => {
      const text = el.textContent ?? "";
      if (log.at(-1)?.text !== text) log.push({ text, at: performance.now() });
    };
    note();
    new MutationObserver(note).observe(el, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  }, id);
}

function recorded(page: Page, id: string): Promise<TextChange[]> {
  return page.evaluate(
    (id) =>
      (window as unknown as { __texts: Record<string, TextChange[]> })
        .__texts[id],
    id,
  );
}

/** Waits until the element with `data-testid=<id>` reads exactly `text`. */
async function textIs(page: Page, id: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([id, text]) =>
      document.querySelector(`[data-testid="${id}"]`)?.textContent === text,
    [id, text] as const,
  );
}

/** Makes the page report itself hidden (or visible again), as a background tab would. */
function setHidden(page: Page, hidden: boolean): Promise<void> {
  return page.evaluate((hidden) => {
    Object.defineProperty(document, "hidden", {
      value: hidden,
      configurable: true,
    });
    Object.defineProperty(document, "visibilityState", {
      value: hidden ? "hidden" : "visible",
      configurable: true,
    });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

Deno.test("each guest sees the other in the presence list until they leave", async () => {
  await withSession("presence list", async (s) => {
    const room = "presence";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    await presenceCountIs(ana.page, 1);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);

    for (const { page } of [ana, ben]) {
      await presenceCountIs(page, 2);
      const list = page.getByTestId("presence-list");
      assert.equal(await list.isVisible(), false, "collapsed at first");
      await page.getByTestId("presence-count").click();
      await list.waitFor({ state: "visible" });
      // Earliest first: Ana was here before Ben.
      assert.deepEqual(await presentNames(page), ["Ana", "Ben"]);
    }
    await ana.page.getByTestId("activity").filter({ hasText: "Ben joined" })
      .waitFor();

    // Ben closes his tab: his socket closes and Ana's list shrinks.
    await ben.page.close();
    await presenceCountIs(ana.page, 1);
    assert.deepEqual(await presentNames(ana.page), ["Ana"]);
    await ana.page.getByTestId("activity").filter({ hasText: "Ben left" })
      .waitFor();
    // The same line stands in the conversation (on by default) and goes away when turned off.
    const leftLine = ana.page.getByTestId("stream-event").filter({
      hasText: "Ben left",
    });
    await leftLine.waitFor();
    await ana.page.getByTestId("toggle-joins").click();
    await leftLine.waitFor({ state: "detached" });
    assert.equal(
      await ana.page.evaluate(() =>
        localStorage.getItem("roomcast:show-joins")
      ),
      "off",
    );
  });
});

Deno.test("typing shows to the others only, and clears after the ttl or on send", async () => {
  await withSession("typing", async (s) => {
    const room = "typing";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    await presenceCountIs(ana.page, 2);
    for (const { page } of [ana, ben]) await recordText(page, "typing");

    // Ana types and stops: Ben sees it, then it expires on its own.
    await composer(ana.page).pressSequentially("hel");
    await textIs(ben.page, "typing", "Ana is typing…");
    await textIs(ben.page, "typing", "");
    let log = await recorded(ben.page, "typing");
    assert.deepEqual(log.map((c) => c.text), ["", "Ana is typing…", ""]);
    const shown = log[2].at - log[1].at;
    assert.ok(
      shown >= TYPING_TTL_MS - 500 && shown <= TYPING_TTL_MS + 4_000,
      `shown for ${Math.round(shown)} ms, ttl ${TYPING_TTL_MS} ms`,
    );

    // Ana types again and sends: the indicator goes with her message, long before the ttl.
    await composer(ana.page).pressSequentially("lo there");
    await textIs(ben.page, "typing", "Ana is typing…");
    await composer(ana.page).press("Enter");
    await confirmed(ben.page, "hello there").waitFor();
    assert.equal(await ben.page.getByTestId("typing").textContent(), "");
    log = await recorded(ben.page, "typing");
    assert.deepEqual(log.map((c) => c.text), [
      "",
      "Ana is typing…",
      "",
      "Ana is typing…",
      "",
    ]);
    assert.ok(
      log[4].at - log[3].at < TYPING_TTL_MS - 1_000,
      `cleared after ${Math.round(log[4].at - log[3].at)} ms`,
    );

    // Ben's reply is the marker: everything sent to Ana's page before it has
    // arrived. Her own typing never showed to her (Ben's, typing his reply, may).
    await send(ben.page, "hi Ana");
    await confirmed(ana.page, "hi Ana").waitFor();
    const own = (await recorded(ana.page, "typing")).map((c) => c.text);
    assert.ok(!own.some((t) => t.includes("Ana")), `Ana saw ${own}`);
    assert.equal(await ana.page.getByTestId("typing").textContent(), "");
  });
});

Deno.test("a hidden tab counts new messages in its title and marks where they start", async () => {
  await withSession("title counter", async (s) => {
    const room = "unread";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    await send(ben.page, "seen before hiding");
    await confirmed(ana.page, "seen before hiding").waitFor();
    const baseTitle = await ana.page.title();
    assert.equal(baseTitle, `#${room} · Roomcast`);

    await setHidden(ana.page, true);
    await send(ben.page, "while hidden 1");
    await send(ben.page, "while hidden 2");
    await ana.page.waitForFunction(
      () => document.title.startsWith("(2) "),
    );
    assert.equal(await ana.page.title(), `(2) ${baseTitle}`);
    // Her own message does not count.
    await send(ana.page, "Ana, still in the background");
    await confirmed(ben.page, "Ana, still in the background").waitFor();
    assert.equal(await ana.page.title(), `(2) ${baseTitle}`);

    await setHidden(ana.page, false);
    await ana.page.waitForFunction(
      (title) => document.title === title,
      baseTitle,
    );
    const divider = ana.page.getByTestId("unread-divider");
    await divider.waitFor();
    assert.equal(await divider.count(), 1);
    const around = await divider.evaluate((el) => ({
      before: el.previousElementSibling?.querySelector(".message-text")
        ?.textContent,
      after: el.nextElementSibling?.querySelector(".message-text")
        ?.textContent,
    }));
    assert.deepEqual(around, {
      before: "seen before hiding",
      after: "while hidden 1",
    });
    const dividerBox = await divider.boundingBox();
    const firstBox = await confirmed(ana.page, "while hidden 1").boundingBox();
    assert.ok(dividerBox && firstBox && dividerBox.y < firstBox.y, "above it");
    // The sender never gets a divider.
    assert.equal(await ben.page.getByTestId("unread-divider").count(), 0);
  });
});

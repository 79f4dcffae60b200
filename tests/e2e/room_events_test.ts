/**
 * Edits, deletes, reactions and replies in a real browser: each done through
 * the UI (react with the picker, reply and jump to the parent, edit with the
 * Up arrow, delete with its confirmation), seen live in another tab, and
 * caught up by a tab that was offline meanwhile.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import {
  composer,
  confirmed,
  joinWithCookie,
  postAs,
  send,
  statusIs,
  withBrowser,
  withSession,
} from "./_browser.ts";
import { startServer } from "../_helpers/server.ts";

/** How long a lost network may take to show (the heartbeat's bound). */
const DEAD_PATH_SHOWN_MS = 30_000;

/** The stored message whose text is exactly `text`. */
function messageItem(page: Page, text: string): Locator {
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return page.locator("li.message[data-seq]").filter({
    has: page.locator(".message-text").filter({ hasText: exact }),
  });
}

Deno.test("react, reply, edit with Up arrow and delete with confirmation: live in another tab, caught up by an offline one", async () => {
  await withSession("room-events", async (s) => {
    const room = "events";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    const cy = await s.open();
    await joinWithCookie(cy, s.server, "Cy", room);

    await send(ana.page, "lunch at noon?");
    await confirmed(ben.page, "lunch at noon?").waitFor();

    // Cy goes offline and misses everything below.
    await cy.context.setOffline(true);
    await cy.page.locator(
      '[data-testid="status"][data-status="offline"], [data-testid="status"][data-status="reconnecting"]',
    ).waitFor({ timeout: DEAD_PATH_SHOWN_MS });

    // React: the picker from the message's actions (keyboard reachable buttons).
    const lunchForBen = messageItem(ben.page, "lunch at noon?");
    await lunchForBen.hover();
    await lunchForBen.getByRole("button", { name: "React" }).click();
    await lunchForBen.getByRole("button", { name: "React 🎉" }).click();
    const chip = messageItem(ana.page, "lunch at noon?").getByRole("button", {
      name: "🎉 1: Ben",
    });
    await chip.waitFor();

    // Reply: the composer quotes the parent; the reply shows the quote.
    await lunchForBen.hover();
    await lunchForBen.getByRole("link", { name: "Reply" }).click();
    await ben.page.getByTestId("reply-banner").filter({
      hasText: "Ana: lunch at noon?",
    }).waitFor();
    await send(ben.page, "yes, the usual place");
    const reply = messageItem(ana.page, "yes, the usual place");
    await reply.getByTestId("reply-quote").filter({
      hasText: "Ana: lunch at noon?",
    }).waitFor();

    // Edit: Up arrow in the empty composer edits Ana's last message; Enter saves.
    await composer(ana.page).focus();
    await composer(ana.page).press("ArrowUp");
    const editBox = ana.page.getByLabel("Edit message");
    await editBox.fill("lunch at one?");
    await editBox.press("Enter");
    await messageItem(ben.page, "lunch at one?").locator(".edited").waitFor();
    // The reply's quote follows the edit.
    await messageItem(ben.page, "yes, the usual place").getByTestId(
      "reply-quote",
    ).filter({ hasText: "Ana: lunch at one?" }).waitFor();
    // Esc cancels an edit: nothing changes.
    await composer(ana.page).press("ArrowUp");
    await ana.page.getByLabel("Edit message").fill("never saved");
    await ana.page.getByLabel("Edit message").press("Escape");
    assert.equal(await ana.page.getByLabel("Edit message").count(), 0);

    // Delete: asks first; the tombstone replaces the text everywhere.
    await send(ana.page, "oops, wrong room");
    const oops = messageItem(ana.page, "oops, wrong room");
    await oops.hover();
    await oops.getByRole("button", { name: "Delete" }).click();
    await ana.page.getByText("Delete this message?").waitFor();
    await confirmed(ben.page, "oops, wrong room").waitFor(); // not yet
    await ana.page.getByRole("group", { name: "Delete this message?" })
      .getByRole("button", { name: "Delete" }).click();
    await confirmed(ben.page, "oops, wrong room").waitFor({
      state: "detached",
    });
    await ben.page.getByText("Message deleted").waitFor();

    // Cy comes back and catches up on all four.
    await cy.context.setOffline(false);
    await statusIs(cy.page, "live");
    await messageItem(cy.page, "lunch at one?").getByRole("button", {
      name: "🎉 1: Ben",
    }).waitFor();
    await messageItem(cy.page, "yes, the usual place").getByTestId(
      "reply-quote",
    ).filter({ hasText: "Ana: lunch at one?" }).waitFor();
    await cy.page.getByText("Message deleted").waitFor();
    assert.equal(await confirmed(cy.page, "oops, wrong room").count(), 0);
    assert.equal(await confirmed(cy.page, "lunch at noon?").count(), 0);
  });
});

Deno.test("clicking a reply's quote scrolls to its parent, loading older pages first", async () => {
  await withSession("reply-jump", async (s) => {
    const room = "jump";
    const bot = await s.server.guest("Bot");
    await postAs(s.server, bot.cookie, room, "the parent, far back");
    for (let i = 0; i < 70; i++) {
      await postAs(s.server, bot.cookie, room, `filler ${i}`);
    }
    const res = await fetch(`${s.server.origin}/api/rooms/${room}/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: s.server.origin,
        cookie: bot.cookie,
      },
      body: JSON.stringify({ text: "replying to the start", replyTo: 1 }),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    assert.equal(await confirmed(ana.page, "the parent, far back").count(), 0);
    await messageItem(ana.page, "replying to the start").getByTestId(
      "reply-quote",
    ).click();
    const parent = confirmed(ana.page, "the parent, far back");
    await parent.waitFor();
    await ana.page.waitForFunction(() => {
      const el = document.getElementById("m1");
      const box = document.querySelector(".message-scroller");
      if (!el || !box) return false;
      const a = el.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      return a.top >= b.top && a.bottom <= b.bottom;
    });

    // The keyboard reaches a message's actions: focus it, Tab to React, pick with Enter.
    const filler = messageItem(ana.page, "filler 69");
    await filler.focus();
    // Focusing shows the actions on the next render: wait for them before Tab.
    await filler.getByRole("button", { name: "React", exact: true }).waitFor();
    await ana.page.keyboard.press("Tab");
    assert.equal(
      await ana.page.evaluate(() =>
        document.activeElement?.getAttribute("aria-label")
      ),
      "React",
    );
    await ana.page.keyboard.press("Enter");
    await filler.getByRole("button", { name: "React 👍" }).focus();
    await ana.page.keyboard.press("Enter");
    await filler.getByRole("button", { name: "👍 1: Ana" }).waitFor();
  });
});

Deno.test("the room offers editing only within the server's edit window (EDIT_WINDOW_MINUTES)", async () => {
  const server = await startServer({ EDIT_WINDOW_MINUTES: "0" });
  try {
    await withBrowser("edit-window", server, async (s) => {
      const ana = await s.open();
      await joinWithCookie(ana, s.server, "Ana", "short-edits");
      await send(ana.page, "no second thoughts");
      await confirmed(ana.page, "no second thoughts").waitFor();

      // Up in the empty composer leaves it as it is: the message is past the
      // window, so no edit box opens and typing goes on in the composer.
      await composer(ana.page).focus();
      await composer(ana.page).press("ArrowUp");
      await composer(ana.page).pressSequentially("still here");
      assert.equal(await composer(ana.page).inputValue(), "still here");
      assert.equal(await ana.page.getByLabel("Edit message").count(), 0);

      // Its actions offer reply and delete, not edit.
      const message = messageItem(ana.page, "no second thoughts");
      await message.hover();
      await message.getByRole("button", { name: "Delete" }).waitFor();
      assert.equal(
        await message.getByRole("button", { name: "Edit" }).count(),
        0,
      );
    });
  } finally {
    await server.close();
  }
});

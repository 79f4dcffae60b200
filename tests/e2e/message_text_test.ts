/**
 * Message text in a real browser: direction follows the text (Arabic and
 * Hebrew right to left, in messages and in the composer), markdown-lite
 * becomes elements with its characters kept as text, and `@name` completes
 * from the people here (a listbox driven by the keyboard), and a message
 * mentioning you is marked for you alone.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import {
  composer,
  confirmed,
  joinWithCookie,
  messageLog,
  send,
  withSession,
} from "./_browser.ts";

/** The stored message whose text is exactly `text`. */
function messageItem(page: Page, text: string): Locator {
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return page.locator("li.message[data-seq]").filter({
    has: page.locator(".message-text").filter({ hasText: exact }),
  });
}

/** The computed direction of `el`, and whether `:dir(rtl)` matches it. */
function direction(el: Locator) {
  return el.evaluate((e) => ({
    direction: getComputedStyle(e).direction,
    rtl: e.matches(":dir(rtl)"),
  }));
}

Deno.test("Arabic and Hebrew lines are laid out right to left, in messages and in the composer; English stays left to right", async () => {
  await withSession("rtl", async (s) => {
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Noor", "rtl");
    const { page } = tab;
    const arabic = "مرحبا بالجميع، الاجتماع الساعة 10!";
    const hebrew = "שלום לכולם: הפגישה ב-10.";
    const english = "Hello everyone: the meeting is at 10!";
    for (const text of [arabic, hebrew, english]) await send(page, text);

    for (const text of [arabic, hebrew]) {
      assert.deepEqual(await direction(confirmed(page, text)), {
        direction: "rtl",
        rtl: true,
      }, text);
    }
    assert.deepEqual(await direction(confirmed(page, english)), {
      direction: "ltr",
      rtl: false,
    });

    // The composer follows what is typed in it.
    const box = composer(page);
    await box.fill(hebrew);
    assert.equal((await direction(box)).rtl, true);
    await box.fill(english);
    assert.equal((await direction(box)).rtl, false);
  });
});

Deno.test("markdown-lite: bold, italic, strike, code, code blocks, quotes and links as elements; the text as sent", async () => {
  await withSession("markdown", async (s) => {
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Ana", "md");
    const { page } = tab;
    const inline =
      "**bold** *italic* ~~gone~~ `a <b> *not italic*` see https://example.com/x.";
    await send(page, inline);
    const text = confirmed(page, inline);
    assert.equal(await text.locator("strong").innerText(), "bold");
    assert.equal(await text.locator("em").innerText(), "italic");
    assert.equal(await text.locator("s").innerText(), "gone");
    assert.equal(
      await text.locator("code").innerText(),
      "a <b> *not italic*",
    );
    const link = text.getByRole("link");
    assert.equal(await link.getAttribute("href"), "https://example.com/x");
    assert.equal(
      await link.getAttribute("rel"),
      "noopener noreferrer nofollow ugc",
    );
    assert.equal(await link.getAttribute("target"), "_blank");
    // What shows has no formatting characters; the element's text is what was sent.
    assert.equal(
      await text.innerText(),
      "bold italic gone a <b> *not italic* see https://example.com/x.",
    );
    assert.equal(await text.textContent(), inline);

    const block =
      "Look:\n```\nconst x = 1;\n  **y**\n```\n> quoted *line*\n> second\nthe end";
    await send(page, block);
    const blockText = confirmed(page, block);
    assert.equal(
      await blockText.locator("pre").innerText(),
      "const x = 1;\n  **y**",
    );
    assert.equal(await blockText.locator("pre strong").count(), 0);
    const quote = blockText.locator("blockquote");
    assert.equal(await quote.innerText(), "quoted line\nsecond");
    assert.equal(await quote.locator("em").innerText(), "line");
    assert.equal(await blockText.textContent(), block);
    // Blocks stack: the quote starts below the code block.
    const [pre, below] = await Promise.all([
      blockText.locator("pre").boundingBox(),
      quote.boundingBox(),
    ]);
    assert.ok(pre && below && below.y >= pre.y + pre.height - 1);
  });
});

Deno.test("@ completes names of the people here from the keyboard (listbox pattern); a mention of you is highlighted for you", async () => {
  await withSession("mentions", async (s) => {
    const room = "mentions";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana Lima", room);
    const cy = await s.open();
    await joinWithCookie(cy, s.server, "Anand", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    const { page } = ben;
    await page.getByTestId("presence-count").filter({ hasText: "3 here" })
      .waitFor();

    const box = composer(page);
    const list = page.getByRole("listbox", { name: "People to mention" });
    await box.fill("");
    await box.pressSequentially("hi @an");
    await list.waitFor();
    const options = list.getByRole("option");
    assert.deepEqual(
      await options.locator(".text-truncate").allInnerTexts(),
      ["Ana Lima", "Anand"],
    );
    // The textarea names the list and its highlighted option.
    assert.equal(await box.getAttribute("aria-controls"), "mention-list");
    const activeId = () => box.getAttribute("aria-activedescendant");
    assert.equal(
      await activeId(),
      await options.nth(0).getAttribute("id"),
    );
    assert.equal(await options.nth(0).getAttribute("aria-selected"), "true");
    await box.press("ArrowDown");
    assert.equal(await activeId(), await options.nth(1).getAttribute("id"));
    await box.press("ArrowDown"); // wraps around
    assert.equal(await activeId(), await options.nth(0).getAttribute("id"));
    await box.press("Enter"); // picks, does not send
    await list.waitFor({ state: "hidden" });
    assert.equal(await box.inputValue(), "hi @Ana Lima ");
    assert.equal(await box.getAttribute("aria-activedescendant"), null);

    // Esc closes the list and keeps the draft; Tab picks.
    await box.pressSequentially("and @A");
    await list.waitFor();
    await box.press("Escape");
    await list.waitFor({ state: "hidden" });
    assert.equal(await box.inputValue(), "hi @Ana Lima and @A");
    await box.pressSequentially("na");
    await list.waitFor();
    await box.press("ArrowUp");
    await box.press("Tab");
    assert.equal(await box.inputValue(), "hi @Ana Lima and @Anand ");
    // Yourself, and nobody matching: no list.
    await box.pressSequentially("@Be");
    await page.waitForFunction(() =>
      document.querySelector("form.composer textarea")?.getAttribute(
        "aria-autocomplete",
      ) === "list"
    );
    assert.equal(await list.count(), 0);
    await box.fill("hi @Ana Lima and @Anand");
    await box.press("Enter");
    const sent = "hi @Ana Lima and @Anand";
    await confirmed(page, sent).waitFor();

    // Ana sees it as hers; so does Anand; Ben (the author) sees mentions, none his.
    for (const [tab, mine] of [[ana, "@Ana Lima"], [cy, "@Anand"]] as const) {
      const item = messageItem(tab.page, sent);
      await item.waitFor();
      assert.match(await item.getAttribute("class") ?? "", /\bmentions-me\b/);
      assert.deepEqual(
        await item.locator(".mention-me").allInnerTexts(),
        [mine],
      );
      assert.equal(await item.locator(".mention").count(), 2);
    }
    const own = messageItem(page, sent);
    assert.doesNotMatch(await own.getAttribute("class") ?? "", /mentions-me/);
    assert.equal(await own.locator(".mention").count(), 2);
    assert.equal(await own.locator(".mention-me").count(), 0);
    // A message that does not mention Ana is not marked for her.
    await send(page, "nothing for anyone");
    await confirmed(ana.page, "nothing for anyone").waitFor();
    assert.equal(
      await messageLog(ana.page).locator("li.mentions-me").count(),
      1,
    );
  });
});

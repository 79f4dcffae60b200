/**
 * The room as a daily user reads it, in a real browser: who is who (a colour
 * and a discriminator from the id, Google's mark), local times with day
 * separators, every view opened at the newest message, an empty room that
 * invites the first one, a composer that grows and counts instead of
 * cutting, focus on load on a desktop only, and join notices that do not
 * linger.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  composer,
  confirmed,
  DESKTOP,
  hydrated,
  joinWithCookie,
  PHONE,
  send,
  statusIs,
  withBrowser,
  withSession,
} from "./_browser.ts";
import { startServer } from "../_helpers/server.ts";
import { KvMessageStore } from "../../lib/store/messages.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { MAX_MESSAGE_CHARS } from "../../lib/chat/protocol.ts";
import { colorIndex, discriminator } from "../../lib/web/identity.ts";
import { dayKey, dayLabel } from "../../lib/web/times.ts";
import { COUNTER_FROM_REMAINING } from "../../lib/web/composer_limit.ts";

/** How far the message scroller is from its bottom. */
function fromBottom(page: Page): Promise<number> {
  return page.locator(".message-scroller").evaluate((el) =>
    el.scrollHeight - el.scrollTop - el.clientHeight
  );
}

/** Waits until the conversation shows its newest message (scrolled to the end). */
async function atNewest(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const el = document.querySelector(".message-scroller");
    return el !== null && el.scrollHeight > el.clientHeight &&
      el.scrollHeight - el.scrollTop - el.clientHeight <= 1;
  });
}

Deno.test("namesakes differ by colour and discriminator (from the id); a Google user carries a verified mark", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvMessageStore(kv);
  const server = await startServer({}, { store });
  try {
    const grace: ChatUser = {
      id: "google:1234567890",
      name: "Grace Hopper",
      kind: "google",
    };
    await store.append({
      room: "names",
      user: grace,
      text: "Signed in with Google",
      clientId: crypto.randomUUID(),
    });
    await withBrowser("identity", server, async (s) => {
      const first = await s.open();
      await joinWithCookie(first, s.server, "Ana Lima", "names");
      const second = await s.open();
      await joinWithCookie(second, s.server, "Ana Lima", "names");
      await send(first.page, "I am the first Ana");
      await send(second.page, "I am the second Ana");
      const { page } = first;
      await confirmed(page, "I am the second Ana").waitFor();

      // The people list: two entries named alike, told apart.
      await page.getByTestId("presence-count").filter({ hasText: "2 here" })
        .waitFor();
      await page.getByTestId("presence-count").click();
      const people = await page.getByTestId("presence-list").locator("li")
        .evaluateAll((items) =>
          items.map((li) => ({
            id: li.getAttribute("data-user") ?? "",
            name: li.querySelector(".text-truncate")?.textContent,
            tag: li.querySelector(".discriminator")?.textContent,
            avatar: li.querySelector(".avatar")?.className,
          }))
        );
      assert.equal(people.length, 2);
      assert.notEqual(people[0].id, people[1].id);
      for (const p of people) {
        assert.equal(p.name, "Ana Lima");
        assert.equal(p.tag, `· ${discriminator(p.id)}`);
        assert.match(
          p.avatar ?? "",
          new RegExp(`avatar-c${colorIndex(p.id, 6)}\\b`),
        );
      }
      assert.notEqual(people[0].tag, people[1].tag);

      // A message's author shows the discriminator on hover.
      const item = page.locator("li.message[data-seq]").filter({
        hasText: "I am the second Ana",
      });
      const tag = item.locator(".message-meta .discriminator");
      const opacity = () => tag.evaluate((el) => getComputedStyle(el).opacity);
      await page.getByTestId("room-title").hover();
      assert.equal(await opacity(), "0");
      await item.hover();
      assert.equal(await opacity(), "1");
      // Hidden or not, the tag takes no room between the name and its badge.
      const gap = await item.locator(".message-meta").evaluate((meta) => {
        const name = meta.querySelector(".message-author")!
          .getBoundingClientRect();
        const badge = meta.querySelector(".guest-badge")!
          .getBoundingClientRect();
        return badge.left - name.right;
      });
      assert.ok(gap < 16, `${gap} px between the name and its badge`);
      const secondId = await second.page.evaluate(() =>
        fetch("/api/session").then((r) => r.json())
      );
      assert.equal(
        await tag.textContent(),
        `· ${discriminator(secondId.user.id)}`,
      );

      // Google's user: a verified mark with a name, no guest badge.
      const graces = page.locator("li.message[data-seq]").filter({
        hasText: "Signed in with Google",
      });
      const mark = graces.getByRole("img", { name: "Verified Google account" });
      assert.equal(await mark.count(), 1);
      assert.equal(await graces.locator(".guest-badge").count(), 0);
      assert.equal(await item.locator(".guest-badge").count(), 1);
    });
  } finally {
    await server.close();
    kv.close();
  }
});

Deno.test("times in the reader's zone with day separators, signed in and out; both open at the newest message", async () => {
  const zone = "Asia/Tokyo";
  let clock = Date.now();
  const kv = await Deno.openKv(":memory:");
  const store = new KvMessageStore(kv, { now: () => clock });
  const server = await startServer({}, { store });
  try {
    const [y, m, d] = dayKey(Date.now(), zone).split("-").map(Number);
    // Noon in Tokyo, three days ago and yesterday, then now.
    const days = [Date.UTC(y, m - 1, d - 3, 3), Date.UTC(y, m - 1, d - 1, 3)];
    const ben: ChatUser = { id: "guest:ben", name: "Ben", kind: "guest" };
    for (const [i, ts] of days.entries()) {
      clock = ts;
      for (let n = 0; n < 2; n++) {
        await store.append({
          room: "days",
          user: ben,
          text: `day ${i} message ${n}`,
          clientId: crypto.randomUUID(),
        });
      }
    }
    clock = Date.now();
    for (let n = 0; n < 30; n++) {
      await store.append({
        room: "days",
        user: ben,
        text: `today ${n}`,
        clientId: crypto.randomUUID(),
      });
    }
    const now = Date.now();
    const expected = [
      dayLabel(days[0], now, zone, "en-US"),
      "Yesterday",
      "Today",
    ];
    assert.match(expected[0], /^[A-Z][a-z]+day, /);

    // The server renders UTC (what it knows); the browser then shows its own zone.
    const html = await (await fetch(`${server.origin}/chat/days`)).text();
    assert.match(html, /\d{2}:\d{2}( [AP]M)? UTC/);

    await withBrowser("times", server, async (s) => {
      for (const signedIn of [false, true]) {
        const tab = await s.open({ timezoneId: zone });
        const { page } = tab;
        if (signedIn) await joinWithCookie(tab, s.server, "Ana", "days");
        else {
          await page.goto("/chat/days");
          await hydrated(page);
        }
        const where = signedIn ? "signed in" : "signed out";
        await page.waitForFunction(() =>
          [...document.querySelectorAll(".message-meta time")].every((t) =>
            !t.textContent?.includes("UTC")
          )
        );
        assert.deepEqual(
          await page.getByTestId("day").allInnerTexts(),
          expected,
          where,
        );
        // Each separator comes before the first message of its day.
        const firstOfDays = await page.getByTestId("day").evaluateAll((els) =>
          els.map((el) =>
            el.nextElementSibling?.querySelector(".message-text")?.textContent
          )
        );
        assert.deepEqual(firstOfDays, [
          "day 0 message 0",
          "day 1 message 0",
          "today 0",
        ], where);
        // A time shows in Tokyo's zone: noon there.
        const noon = await page.locator("li.message[data-seq]").filter({
          hasText: "day 1 message 0",
        }).locator("time").innerText();
        assert.equal(noon, "12:00 PM", where);
        await atNewest(page);
        assert.ok(await fromBottom(page) <= 1, where);
        await tab.context.close();
      }
    });
  } finally {
    await server.close();
    kv.close();
  }
});

Deno.test("an empty room invites the first message, signed in and out", async () => {
  await withSession("empty room", async (s) => {
    const visitor = await s.open();
    await visitor.page.goto("/chat/quiet");
    await hydrated(visitor.page);
    assert.match(
      await visitor.page.getByTestId("empty-room").innerText(),
      /Nothing here yet: sign in to write the first message in #quiet/,
    );
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Ana", "quiet");
    const invite = tab.page.getByTestId("empty-room");
    assert.match(
      await invite.innerText(),
      /Nothing here yet: write the first message in #quiet/,
    );
    await send(tab.page, "first!");
    await invite.waitFor({ state: "detached" });
  });
});

Deno.test("the composer grows to about 8 lines then scrolls; it counts near the limit and refuses past it, keeping the text", async () => {
  await withSession("composer", async (s) => {
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Ana", "compose");
    const { page } = tab;
    const box = composer(page);
    const metrics = () =>
      box.evaluate((el) => ({
        client: el.clientHeight,
        scroll: el.scrollHeight,
        line: parseFloat(getComputedStyle(el).lineHeight),
      }));
    const one = await metrics();
    await box.fill("one\ntwo\nthree\nfour");
    const four = await metrics();
    assert.ok(
      four.client >= 4 * four.line,
      `4 lines shown: ${JSON.stringify(four)}`,
    );
    assert.ok(four.scroll <= four.client + 1, "nothing clipped");
    assert.ok(four.client > one.client);
    await box.fill(
      Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n"),
    );
    const many = await metrics();
    assert.ok(
      many.client >= 7.5 * many.line && many.client <= 8.8 * many.line,
      `about 8 lines: ${JSON.stringify(many)}`,
    );
    assert.ok(many.scroll > many.client, "then it scrolls");
    await box.fill("");
    assert.ok((await metrics()).client <= one.client + 1, "and shrinks back");

    const counter = page.getByTestId("composer-length");
    await box.fill("x".repeat(MAX_MESSAGE_CHARS - COUNTER_FROM_REMAINING - 1));
    assert.equal(await counter.count(), 0);
    await box.fill("x".repeat(MAX_MESSAGE_CHARS - 400));
    assert.equal(await counter.innerText(), "400 characters left");
    const over = "y".repeat(MAX_MESSAGE_CHARS + 10);
    await box.fill(over);
    assert.equal(
      await counter.innerText(),
      "10 characters over the 4,000 limit: shorten it to send",
    );
    assert.equal(await box.getAttribute("aria-invalid"), "true");
    await box.press("Enter");
    assert.equal(
      await page.getByRole("alert").filter({ hasText: "Not sent" }).innerText(),
      "Not sent: 10 characters over the 4,000 limit: shorten it to send",
    );
    assert.equal(await box.inputValue(), over, "nothing is cut");
    assert.equal(await page.locator("li.message.pending").count(), 0);
    // At the limit exactly, it goes.
    const exact = "z".repeat(MAX_MESSAGE_CHARS);
    await box.fill(exact);
    assert.equal(await page.getByTestId("composer-refusal").count(), 0);
    await box.press("Enter");
    await confirmed(page, exact).waitFor();
    assert.equal(await box.inputValue(), "");
  });
});

Deno.test("the composer has the focus on load on a desktop, not on a phone", async () => {
  await withSession("focus on load", async (s) => {
    for (
      const [viewport, focused] of [[DESKTOP, true], [PHONE, false]] as const
    ) {
      const tab = await s.open({ viewport });
      await joinWithCookie(tab, s.server, "Ana", "focus");
      assert.equal(
        await composer(tab.page).evaluate((el) =>
          el === document.activeElement
        ),
        focused,
        `${viewport.width} px`,
      );
      await tab.context.close();
    }
  });
});

Deno.test("'Ben joined' leaves the toolbar after a few seconds; the line stays in the conversation", async () => {
  await withSession("joins fade", async (s) => {
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", "fade");
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", "fade");
    const notice = ana.page.getByTestId("activity");
    await notice.filter({ hasText: "Ben joined" }).waitFor();
    const shownAt = Date.now();
    await notice.waitFor({ state: "detached" });
    assert.ok(Date.now() - shownAt >= 3_000, "readable for a few seconds");
    assert.equal(
      await ana.page.getByTestId("stream-event").filter({
        hasText: "Ben joined",
      }).count(),
      1,
    );
    await statusIs(ana.page, "live");
  });
});

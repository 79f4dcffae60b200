/**
 * Running a room in a real browser: the owner makes a moderator from the
 * room panel; the moderator deletes a guest's message and mutes the guest,
 * whose composer gives way to why and until when. The panel and the
 * moderator's actions are reachable from the keyboard and axe-clean, light
 * and dark.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { googleUser } from "../_helpers/people.ts";
import {
  composer,
  confirmed,
  hydrated,
  joinWithCookie,
  send,
  statusIs,
  type Tab,
  withSession,
} from "./_browser.ts";
import { axeInto } from "./_axe.ts";

/** Opens `room` in `tab` as the Google user `id` (a session cookie, as after signing in). */
async function joinAsGoogle(
  tab: Tab,
  origin: string,
  id: string,
  name: string,
  room: string,
): Promise<void> {
  const { cookie } = await googleUser(id, name);
  const eq = cookie.indexOf("=");
  await tab.context.addCookies([{
    name: cookie.slice(0, eq),
    value: cookie.slice(eq + 1),
    url: origin,
    httpOnly: true,
    sameSite: "Lax",
  }]);
  await tab.page.goto(`/chat/${room}`);
  await hydrated(tab.page);
  await statusIs(tab.page, "live");
}

/** The stored message whose text is exactly `text`. */
function messageItem(page: Page, text: string): Locator {
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return page.locator("li.message[data-seq]").filter({
    has: page.locator(".message-text").filter({ hasText: exact }),
  });
}

Deno.test("the owner makes a moderator; the moderator deletes a message and mutes a guest, whose composer shows why and until when", async () => {
  await withSession("moderation", async (s) => {
    const room = "moderated";
    const found: string[] = [];
    const owen = await s.open();
    await joinAsGoogle(owen, s.server.origin, "owen", "Owen", room);
    const mia = await s.open({ colorScheme: "dark" });
    await joinAsGoogle(mia, s.server.origin, "mia", "Mia", room);
    const gus = await s.open();
    await joinWithCookie(gus, s.server, "Gus", room);

    // The owner opens the panel from the keyboard and gives Mia the moderator role.
    const manage = owen.page.getByTestId("manage-room");
    await manage.focus();
    await owen.page.keyboard.press("Enter");
    const panel = owen.page.getByRole("dialog", { name: `Manage #${room}` });
    await panel.waitFor();
    await panel.getByLabel("Person").selectOption({ label: "Mia" });
    await panel.getByLabel("Role").selectOption("moderator");
    await panel.getByRole("button", { name: "Give role" }).click();
    await panel.getByTestId("panel-status").filter({
      hasText: "Mia is now a moderator.",
    }).waitFor();
    await panel.getByTestId("members").filter({ hasText: "moderator" })
      .waitFor();
    await axeInto(found, owen.page, "room panel (light)");
    // Esc closes it and gives the focus back to its button.
    await owen.page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    assert.equal(
      await manage.evaluate((el) => el === document.activeElement),
      true,
    );

    // Mia is told at once: the panel's button appears for her.
    await mia.page.getByTestId("manage-room").waitFor();

    await send(gus.page, "buy cheap watches");
    await send(gus.page, "BUY NOW");

    // Mia deletes the first as a moderator, from the keyboard, with a confirmation.
    const spam = messageItem(mia.page, "buy cheap watches");
    await spam.focus();
    await spam.getByRole("button", { name: "Delete as moderator" }).click();
    await spam.getByRole("button", { name: "Delete", exact: true }).click();
    await gus.page.locator("li.message .bubble.deleted").waitFor();
    assert.equal(await confirmed(gus.page, "buy cheap watches").count(), 0);

    // …and mutes Gus for an hour, with a reason.
    const shout = messageItem(mia.page, "BUY NOW");
    await shout.hover();
    await shout.getByRole("button", { name: "Mute Gus" }).click();
    const form = shout.getByRole("form", { name: "Mute Gus" });
    await form.getByLabel("Mute for").selectOption({ label: "1 hour" });
    await form.getByLabel("Reason (optional)").fill("spam");
    await axeInto(found, mia.page, "moderator's mute form (dark)");
    await form.getByRole("button", { name: "Mute", exact: true }).click();

    // Gus's composer gives way to why and until when (an hour from now, his time).
    const notice = gus.page.getByTestId("muted");
    await notice.waitFor();
    assert.equal(await composer(gus.page).count(), 0);
    const text = await notice.textContent() ?? "";
    assert.match(text, /A moderator muted you in this room/);
    assert.match(text, /Reason: spam/);
    const until = await gus.page.getByTestId("muted-until").textContent();
    // In Gus's time (the context is en-US, UTC): an hour from the mute, to
    // the minute, with the date when that is tomorrow.
    const inAnHour = (minutesLater: number) => {
      const at = new Date(Date.now() + (60 - minutesLater) * 60_000);
      const today = new Date().toISOString().slice(0, 10);
      return `until ${
        at.toISOString().slice(0, 10) === today
          ? at.toLocaleTimeString("en-US", {
            hour: "2-digit",
            minute: "2-digit",
            timeZone: "UTC",
          })
          : at.toLocaleString("en-US", {
            dateStyle: "medium",
            timeStyle: "short",
            timeZone: "UTC",
          })
      }`;
    };
    assert.ok(
      [inAnHour(0), inAnHour(1)].includes(until ?? ""),
      `${until} is not an hour from now`,
    );
    await axeInto(found, gus.page, "muted guest (light)");

    // A muted person can still report; reports reach the moderators as a badge.
    await send(owen.page, "welcome, everyone");
    const theirs = messageItem(gus.page, "welcome, everyone");
    await theirs.hover();
    await theirs.getByRole("button", { name: "Report" }).click();
    await theirs.getByRole("button", { name: "Report", exact: true }).click();
    await mia.page.getByTestId("reports-badge").filter({ hasText: "1" })
      .waitFor();

    // The panel in dark: axe-clean too, with the audit log.
    await mia.page.getByTestId("manage-room").click();
    const miaPanel = mia.page.getByRole("dialog", { name: `Manage #${room}` });
    await miaPanel.getByTestId("audit-log").filter({ hasText: "muted Gus" })
      .waitFor();
    await axeInto(found, mia.page, "room panel (dark)");
    assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
    for (const tab of [owen, mia, gus]) {
      assert.deepEqual(tab.watch.pageErrors, []);
    }
  });
});

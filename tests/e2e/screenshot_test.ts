/**
 * The README's screenshot and the screenshot set: a room with a short
 * conversation between two guests, desktop size, light theme (the README's),
 * then the same person's lobby, the room in dark mode, and the room on a
 * phone. Always written to `test-artifacts/`; written to `docs/` too when
 * `UPDATE_SCREENSHOT=1` (`deno task screenshots`), so ordinary test runs
 * leave the tree clean.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  ARTIFACTS,
  confirmed,
  DESKTOP,
  hydrated,
  joinFromLobby,
  joinWithCookie,
  PHONE,
  send,
  statusIs,
  withSession,
} from "./_browser.ts";

const DOCS_SHOT = new URL("../../docs/screenshot.png", import.meta.url);
/** The set: lobby, room light and dark, phone. */
const DOCS_SET = new URL("../../docs/screenshots/", import.meta.url);
/** The README image must stay small enough to commit. */
const MAX_BYTES = 300 * 1024;

const CONVERSATION: [who: 0 | 1, text: string][] = [
  [0, "Morning! Is the new build up on staging?"],
  [1, "Yes, deployed ten minutes ago."],
  [1, "Release notes: https://example.com/releases/2.4"],
  [0, "Great, running the smoke tests now."],
  [1, "The reconnect change is the big one. Try it on a flaky connection."],
  [0, "Just did: switched my phone to airplane mode and back."],
  [
    0,
    "It said Reconnecting for a second, then caught up without losing a message.",
  ],
  [1, "Perfect. Let's ship it after lunch."],
];

Deno.test("screenshot of a room with two people talking", async () => {
  await withSession("screenshot", async (s) => {
    const ana = await s.open({ viewport: DESKTOP, colorScheme: "light" });
    await joinFromLobby(ana.page, "Ana Lima", "general");
    const ben = await s.open({ viewport: DESKTOP, colorScheme: "light" });
    await joinWithCookie(ben, s.server, "Ben Okafor", "general");
    const tabs = [ana, ben];
    for (const [who, text] of CONVERSATION) {
      await send(tabs[who].page, text);
      await confirmed(tabs[1 - who].page, text).waitFor();
    }

    const { page } = ana;
    assert.equal(
      await page.locator("html").getAttribute("data-bs-theme"),
      "light",
    );
    await page.evaluate(() => (document.activeElement as HTMLElement)?.blur());
    await page.evaluate(() => document.fonts.ready.then(() => true));
    const png = await page.screenshot({ animations: "disabled" });
    assert.ok(png.length < MAX_BYTES, `screenshot is ${png.length} bytes`);

    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await Deno.writeFile(new URL("screenshot.png", ARTIFACTS), png);
    if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
      await Deno.mkdir(new URL(".", DOCS_SHOT), { recursive: true });
      await Deno.writeFile(DOCS_SHOT, png);
    }

    const last = CONVERSATION.at(-1)![1];
    const set: Record<string, Uint8Array> = { "room-light.png": png };
    await page.goto("/");
    await hydrated(page);
    await page.getByTestId("room-list").getByText("#general").waitFor();
    set["lobby.png"] = await still(page);
    await page.emulateMedia({ colorScheme: "dark" });
    await openRoom(page, last);
    assert.equal(
      await page.locator("html").getAttribute("data-bs-theme"),
      "dark",
    );
    set["room-dark.png"] = await still(page);
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize(PHONE);
    await openRoom(page, last);
    set["room-phone.png"] = await still(page);

    await Deno.mkdir(new URL("screenshots/", ARTIFACTS), { recursive: true });
    for (const [name, shot] of Object.entries(set)) {
      assert.ok(shot.length < MAX_BYTES, `${name} is ${shot.length} bytes`);
      await Deno.writeFile(new URL(`screenshots/${name}`, ARTIFACTS), shot);
    }
    if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
      await Deno.mkdir(DOCS_SET, { recursive: true });
      for (const [name, shot] of Object.entries(set)) {
        await Deno.writeFile(new URL(name, DOCS_SET), shot);
      }
    }
  });
});

/** Opens the room again, live, with `last` shown. */
async function openRoom(page: Page, last: string): Promise<void> {
  await page.goto("/chat/general");
  await hydrated(page);
  await statusIs(page, "live");
  await confirmed(page, last).waitFor();
}

/** The page as it rests: no focus ring, fonts loaded, no animation. */
async function still(page: Page): Promise<Uint8Array> {
  await page.evaluate(() => (document.activeElement as HTMLElement)?.blur());
  await page.evaluate(() => document.fonts.ready.then(() => true));
  return await page.screenshot({ animations: "disabled" });
}

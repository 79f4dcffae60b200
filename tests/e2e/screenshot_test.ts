/**
 * The README's screenshot: a room with a short conversation between two
 * guests, desktop size, light theme. Always written to
 * `test-artifacts/screenshot.png`; written to `docs/screenshot.png` too when
 * `UPDATE_SCREENSHOT=1`, so ordinary test runs leave the tree clean.
 */
import assert from "node:assert/strict";
import {
  ARTIFACTS,
  confirmed,
  DESKTOP,
  joinFromLobby,
  joinWithCookie,
  send,
  withSession,
} from "./_browser.ts";

const DOCS_SHOT = new URL("../../docs/screenshot.png", import.meta.url);
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
  });
});

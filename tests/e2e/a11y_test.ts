/**
 * axe-core on every page a person meets, light and dark, desktop and phone:
 * the lobby and a room, signed out and signed in, the room with a pending
 * message (Retry and Discard), the people list open, and the room signed out
 * in place by a sign-out in another tab. Zero violations of any impact.
 *
 * axe's source goes into the page with `page.evaluate`: the app's CSP allows
 * only its own nonce'd scripts (an injected `<script>` would be refused), and
 * an evaluation through the DevTools protocol is not subject to the page's
 * CSP, so the page under test keeps its real policy. The source is read as
 * text, never run in Deno.
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
  postAs,
  send,
  statusIs,
  type Tab,
  withSession,
} from "./_browser.ts";
import { axeInto } from "./_axe.ts";

/** Ben's side: more lines than a screen holds, so the message list scrolls. */
const CONVERSATION = [
  "Morning! Is the build up?",
  ...Array.from({ length: 14 }, (_, i) => `Smoke test ${i + 1} passed.`),
];
/** Only in the desktop room: the phone's list has nothing focusable until Ana writes. */
const LINK = "Release notes: https://example.com/releases/2.4";

/** Shift+Tab presses from the composer within which the people list must be reached. */
const MAX_TABS = 8;

const SCHEMES = ["light", "dark"] as const;
const VIEWPORTS = { desktop: DESKTOP, "375 px": PHONE } as const;

for (const colorScheme of SCHEMES) {
  Deno.test(`axe finds nothing in ${colorScheme}: lobby and room, signed out and in, pending, people list, signed out in place; desktop and 375 px`, async () => {
    await withSession(`a11y ${colorScheme}`, async (s) => {
      const ben = await s.server.guest("Ben Okafor");
      const found: string[] = [];
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        const room = size === "desktop" ? "general" : "phone";
        const lines = size === "desktop"
          ? [...CONVERSATION, LINK]
          : CONVERSATION;
        for (const text of lines) {
          await postAs(s.server, ben.cookie, room, text);
        }
        const check = (p: Page, what: string) =>
          axeInto(found, p, `${what} (${colorScheme}, ${size})`);
        const tab: Tab = await s.open({ viewport, colorScheme });
        const { page } = tab;

        await page.goto("/");
        await hydrated(page);
        await check(page, "the lobby, signed out");
        await page.goto(`/chat/${room}`);
        await hydrated(page);
        await check(page, "a room, signed out");

        await joinWithCookie(tab, s.server, `Ana ${size}`, room);
        await send(page, "Yes: see https://example.com/status for details");
        // Opened from the keyboard: a pointer left over it would test its hover colours.
        await page.getByTestId("presence-count").focus();
        await page.keyboard.press("Enter");
        await page.getByTestId("presence-list").waitFor();
        await check(page, "a room, signed in, people open");

        await tab.context.setOffline(true);
        await statusIs(page, "offline");
        await composer(page).fill("written offline");
        await composer(page).press("Enter");
        await page.getByRole("button", { name: /^Discard/ }).waitFor();
        await check(page, "a room, offline, one pending");
        await tab.context.setOffline(false);
        await confirmed(page, "written offline").waitFor();

        const other = await tab.context.newPage();
        await other.goto("/");
        await hydrated(other);
        await check(other, "the lobby, signed in");
        await other.getByRole("button", { name: "Sign out" }).click();
        await statusIs(page, "signed-out");
        // The composer had the focus: it moves to the panel, not to <body>.
        await page.waitForFunction(() =>
          document.activeElement?.id === "signed-out-title"
        );
        await check(page, "a room, signed out in place");
        await tab.context.close();
      }
      assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
    });
  });
}

Deno.test("the people list opens from the keyboard, closes on Esc (focus back on its button) and on a click outside", async () => {
  await withSession("a11y people list", async (s) => {
    const tab = await s.open();
    await joinWithCookie(tab, s.server, "Ana", "people");
    const { page } = tab;
    const count = page.getByTestId("presence-count");
    const list = page.getByTestId("presence-list");
    const focused = () => count.evaluate((el) => el === document.activeElement);
    // Backwards from the composer: Notify, Joins & leaves, the people list.
    await composer(page).focus();
    for (let i = 0; i < MAX_TABS && !(await focused()); i++) {
      await page.keyboard.press("Shift+Tab");
    }
    assert.ok(await focused(), "the people list is in the tab order");
    await page.keyboard.press("Enter");
    await list.getByRole("listitem").filter({ hasText: "Ana" }).waitFor();
    await page.keyboard.press("Escape");
    await list.waitFor({ state: "hidden" });
    assert.ok(await focused(), "Esc gives the focus back to the summary");

    await count.click();
    await list.waitFor({ state: "visible" });
    await list.click();
    assert.ok(await list.isVisible(), "a click inside keeps it open");
    await page.getByTestId("room-title").click();
    await list.waitFor({ state: "hidden" });
  });
});

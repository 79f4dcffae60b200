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
import type { AxeResults, RunOptions } from "axe-core";
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

/** One rule broken, where, and why (what a failing test prints). */
interface Violation {
  id: string;
  impact: string | null;
  nodes: string[];
}

/** axe-core's browser build, the version pinned in deno.json. */
const AXE_SOURCE = await Deno.readTextFile(
  new URL(import.meta.resolve("axe-core")),
);

/** Runs axe on the page as it stands; every violation, with its targets. */
async function axeViolations(page: Page): Promise<Violation[]> {
  const loaded = await page.evaluate(() => "axe" in globalThis);
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return await page.evaluate(async () => {
    // Colours caught mid-transition (a button fading back from :active) are not the page's.
    await Promise.all(document.getAnimations().map((a) => a.finished));
    const { axe } = globalThis as unknown as {
      axe: {
        run(context: Document, options: RunOptions): Promise<AxeResults>;
      };
    };
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      nodes: v.nodes.map((n) =>
        `${n.target.join(" ")}: ${n.failureSummary ?? ""}`.replace(/\s+/g, " ")
      ),
    }));
  });
}

/** Runs axe on `page` and adds what it found, one line per rule, to `into`. */
async function axeInto(
  into: string[],
  page: Page,
  where: string,
): Promise<void> {
  for (const v of await axeViolations(page)) {
    into.push(`${where}: ${v.id} (${v.impact}) at ${v.nodes.join(" | ")}`);
  }
}

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

/** Formatting, mentions and a code block: every element markdown-lite makes. */
const FORMATTED =
  "**Release** *today*, ~~not Friday~~: run `deno task build` then see https://example.com/notes\n> quoted by @Ana and @Ben\n```\nconst ok = true;\n```";

for (const colorScheme of SCHEMES) {
  Deno.test(`axe finds nothing in ${colorScheme}: an empty room, formatted messages, a mention of you, the @ list, the length counter and a refusal`, async () => {
    await withSession(`a11y text ${colorScheme}`, async (s) => {
      const found: string[] = [];
      const tab = await s.open({ colorScheme });
      const { page } = tab;
      const check = (what: string) =>
        axeInto(found, page, `${what} (${colorScheme})`);
      await joinWithCookie(tab, s.server, "Ana", "text");
      await check("an empty room");
      const ben = await s.open({ colorScheme });
      await joinWithCookie(ben, s.server, "Ben", "text");
      await send(ben.page, FORMATTED);
      await confirmed(page, FORMATTED).waitFor();
      await page.locator("li.mentions-me").waitFor();
      await check("formatted messages, one mentioning you");

      const box = composer(page);
      await box.fill("");
      await box.pressSequentially("hi @B");
      await page.getByRole("listbox", { name: "People to mention" }).waitFor();
      await check("the @ list open");
      await box.press("Escape");
      await box.fill("x".repeat(4_005));
      await box.press("Enter");
      await page.getByTestId("composer-refusal").waitFor();
      await check("the counter over the limit and a refusal");
      assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
    });
  });
}

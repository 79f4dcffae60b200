/**
 * Private rooms and direct messages in a real browser: a private room is a
 * missing page until an invite link lets you in, once you confirm on its page
 * (and a revoked link says so);
 * a DM opened with "Message" from the people list is listed in the other
 * person's lobby with its unread count, which reading clears; axe finds
 * nothing on these screens, light and dark.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { DIRECT_ROOM_SETTINGS } from "../../lib/chat/access.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import type { TestServer } from "../_helpers/server.ts";
import { googleChatUser, signIn } from "../_helpers/users.ts";
import { call } from "../_helpers/people.ts";
import { NO_ACCESS_NOTICE } from "../../lib/chat/client/room_client.ts";
import { axeInto } from "./_axe.ts";
import {
  confirmed,
  hydrated,
  send,
  type Session,
  statusIs,
  type Tab,
  useCookie,
  withSession,
} from "./_browser.ts";

const ANA = googleChatUser("Ana");
const BEN = googleChatUser("Ben");
const CAL = googleChatUser("Cal");

/** A tab signed in as `user` (a minted session, as after a Google sign-in). */
async function tabAs(
  s: Session,
  user: ChatUser,
  colorScheme: "light" | "dark" = "light",
): Promise<Tab> {
  const tab = await s.open({ colorScheme });
  await useCookie(tab, s.server, (await signIn(s.server, user)).cookie);
  return tab;
}

async function privateRoom(server: TestServer, room: string): Promise<void> {
  await server.services.rooms.create(room, ANA, {
    ...DIRECT_ROOM_SETTINGS,
    postPolicy: "everyone",
  });
}

/** Tab presses within which a control after its popover's button must be reached. */
const MAX_TABS = 6;

/** Presses Tab until `name`d button has the focus (it must be in the tab order), then Enter. */
async function tabToAndPress(page: Page, name: string): Promise<void> {
  const button = page.getByRole("button", { name, exact: true });
  const focused = () => button.evaluate((el) => el === document.activeElement);
  for (let i = 0; i < MAX_TABS && !(await focused()); i++) {
    await page.keyboard.press("Tab");
  }
  assert.ok(await focused(), `${name} is reached with Tab`);
  await page.keyboard.press("Enter");
}

/** Opens the Invite panel and makes a link, from the keyboard; returns it. */
async function makeInvite(page: Page): Promise<string> {
  await page.getByTestId("invite-toggle").focus();
  await page.keyboard.press("Enter");
  await tabToAndPress(page, "Create link");
  const link = page.getByTestId("invite-link");
  await link.waitFor();
  return await link.inputValue();
}

/** Opens the people list from the keyboard and waits for `name` in it. */
async function openPeople(page: Page, name: string): Promise<void> {
  await page.getByTestId("presence-count").focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("presence-list").getByRole("listitem")
    .filter({ hasText: name }).waitFor();
}

Deno.test("browser: a private room is a 404 until joined by invite link; a revoked link is refused", async () => {
  await withSession("private invite", async (s) => {
    await privateRoom(s.server, "team");
    const ana = await tabAs(s, ANA);
    await ana.page.goto("/chat/team");
    await hydrated(ana.page);
    await statusIs(ana.page, "live");
    const link = await makeInvite(ana.page);
    assert.match(link, new RegExp(`^${s.server.origin}/invite/[\\w-]{22}$`));

    const ben = await tabAs(s, BEN);
    const refused = await ben.page.goto("/chat/team");
    assert.equal(refused?.status(), 404);
    await ben.page.goto(link);
    // The link asks; the button joins.
    await ben.page.getByRole("button", { name: "Join #team" }).click();
    await ben.page.waitForURL("**/chat/team");
    await hydrated(ben.page);
    await statusIs(ben.page, "live");
    await send(ben.page, "Thanks for the invite");
    await confirmed(ana.page, "Thanks for the invite").waitFor();

    // Ana revokes the link: Cal, who had it too, is told so and stays out.
    await ana.page.getByRole("button", { name: /^Revoke the link/ }).click();
    await ana.page.getByTestId("invite-status")
      .filter({ hasText: "revoked" }).waitFor();
    const cal = await tabAs(s, CAL);
    const res = await cal.page.goto(link);
    assert.equal(res?.status(), 410);
    await cal.page.getByTestId("invite-refused")
      .filter({ hasText: "withdrawn" }).waitFor();
    assert.equal((await cal.page.goto("/chat/team"))?.status(), 404);
    for (const tab of [ana, ben, cal]) {
      assert.deepEqual(tab.watch.pageErrors, []);
    }
  });
});

Deno.test("browser: taken out of a private room, the tab stops with its own notice and the way out (no reconnecting); axe finds nothing, light and dark", async () => {
  await withSession("private removed", async (s) => {
    await privateRoom(s.server, "team");
    await s.server.services.rooms.setRole("team", BEN, "member");
    const ben = await tabAs(s, BEN);
    await ben.page.goto("/chat/team");
    await hydrated(ben.page);
    await statusIs(ben.page, "live");
    const removed = await call(
      s.server.origin,
      "PUT",
      "/api/rooms/team/roles",
      await signIn(s.server, ANA),
      { user: { id: BEN.id, name: BEN.name }, role: "none" },
    );
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    await statusIs(ben.page, "no-access");
    await ben.page.getByText(NO_ACCESS_NOTICE).waitFor();
    const footer = ben.page.getByTestId("no-access");
    await footer.getByRole("link", { name: "Choose another room" }).waitFor();
    assert.equal(
      await ben.page.getByRole("button", { name: /^Rejoin/ }).count(),
      0,
    );
    const found: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      await ben.page.emulateMedia({ colorScheme });
      await axeInto(found, ben.page, `members only now (${colorScheme})`);
    }
    assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
    // "Try again" loads the page, which is a 404 while he is not a member.
    const again = footer.getByRole("link", { name: "Try #team again" });
    const [answer] = await Promise.all([
      ben.page.waitForResponse((r) => r.url().endsWith("/chat/team")),
      again.click(),
    ]);
    assert.equal(answer.status(), 404);
    assert.deepEqual(ben.watch.pageErrors, []);
  });
});

Deno.test("browser: signed out, an invite link offers sign-in and then lands in the room (a guest, where the room takes guests)", async () => {
  await withSession("private invite guest", async (s) => {
    await s.server.services.rooms.create("guests-ok", ANA, {
      ...DIRECT_ROOM_SETTINGS,
      postPolicy: "everyone",
      guestsAllowed: true,
    });
    const ana = await tabAs(s, ANA);
    await ana.page.goto("/chat/guests-ok");
    await statusIs(ana.page, "live");
    const link = await makeInvite(ana.page);
    const { page } = await s.open();
    await page.goto(link);
    await hydrated(page);
    await page.getByRole("heading", { name: "You are invited to #guests-ok" })
      .waitFor();
    await page.getByLabel("Your display name").fill("Gus");
    await page.getByRole("button", { name: "Join as guest" }).click();
    // Signed in, back on the invitation: the button joins.
    await page.getByRole("button", { name: "Join #guests-ok" }).click();
    await page.waitForURL("**/chat/guests-ok");
    await hydrated(page);
    await statusIs(page, "live");
    await send(page, "a guest, invited");
    await confirmed(ana.page, "a guest, invited").waitFor();
  });
});

Deno.test("browser: a DM opened from the people list is listed for the other person with an unread count, cleared by reading", async () => {
  await withSession("dm", async (s) => {
    const ana = await tabAs(s, ANA);
    const ben = await tabAs(s, BEN);
    for (const { page } of [ben, ana]) {
      await page.goto("/chat/lounge");
      await hydrated(page);
      await statusIs(page, "live");
    }
    await openPeople(ana.page, "Ben");
    await tabToAndPress(ana.page, "Message Ben");
    await ana.page.waitForURL(/\/chat\/dm-[0-9a-f]{32}$/);
    const dm = new URL(ana.page.url()).pathname;
    await hydrated(ana.page);
    await statusIs(ana.page, "live");
    await ana.page.getByTestId("room-title").filter({ hasText: "Ben" })
      .waitFor();
    await send(ana.page, "psst, a word?");
    // Nobody can claim a direct conversation (its record came before any message).
    assert.equal(
      await ana.page.getByRole("button", { name: "Claim this room" }).count(),
      0,
    );

    // Ben, in the lounge, sees the count in the navbar, then the conversation in the lobby.
    await ben.page.getByTestId("nav-unread").filter({ hasText: /^1\s*unread$/ })
      .waitFor({ timeout: 15_000 });
    await ben.page.getByTestId("nav-messages").click();
    await ben.page.waitForURL("**/#direct-messages");
    await hydrated(ben.page);
    const item = ben.page.getByTestId("conversations").getByRole("listitem")
      .filter({ hasText: "Ana" });
    await item.getByTestId("unread").filter({ hasText: /^1\s*unread$/ })
      .waitFor();
    // Reading it: the room marks it read, and the lobby shows no count.
    const marked = ben.page.waitForResponse((r) =>
      r.url().endsWith(`/api/dms/${dm.split("/").at(-1)}/read`) && r.ok()
    );
    await item.getByRole("link", { name: "Ana" }).click();
    await ben.page.waitForURL(`**${dm}`);
    await confirmed(ben.page, "psst, a word?").waitFor();
    await marked;
    await ben.page.goto("/");
    await ben.page.getByTestId("conversations").getByRole("listitem")
      .filter({ hasText: "Ana" }).waitFor();
    assert.equal(await ben.page.getByTestId("unread").count(), 0);
    await ben.page.getByTestId("nav-messages").waitFor();
    assert.equal(await ben.page.getByTestId("nav-unread").count(), 0);
  });
});

Deno.test("browser: guests get no Message button and are told why", async () => {
  await withSession("dm guests", async (s) => {
    const ana = await tabAs(s, ANA);
    await ana.page.goto("/chat/lounge");
    await statusIs(ana.page, "live");
    const gus = await s.open();
    await useCookie(gus, s.server, (await s.server.guest("Gus")).cookie);
    await gus.page.goto("/chat/lounge");
    await hydrated(gus.page);
    await statusIs(gus.page, "live");
    await openPeople(gus.page, "Ana");
    await gus.page.getByTestId("dm-guests").waitFor();
    assert.equal(await gus.page.getByTestId("message-person").count(), 0);
    // Ana sees no button by the guest either.
    await openPeople(ana.page, "Gus");
    assert.equal(await ana.page.getByTestId("message-person").count(), 0);
  });
});

Deno.test("axe finds nothing on the invite panel, an invitation to confirm, the people list with Message, the lobby's conversations and a refused invite, light and dark", async () => {
  await withSession("private a11y", async (s) => {
    await privateRoom(s.server, "team");
    await s.server.services.rooms.setRole("team", BEN, "member");
    const found: string[] = [];
    for (const scheme of ["light", "dark"] as const) {
      const ana = await tabAs(s, ANA, scheme);
      const ben = await tabAs(s, BEN, scheme);
      await ben.page.goto("/chat/team");
      await statusIs(ben.page, "live");
      await ana.page.goto("/chat/team");
      await hydrated(ana.page);
      await statusIs(ana.page, "live");
      const link = await makeInvite(ana.page);
      await axeInto(found, ana.page, `invite panel (${scheme})`);
      const cal = await tabAs(s, CAL, scheme);
      await cal.page.goto(link);
      await cal.page.getByTestId("invite-confirm").waitFor();
      await axeInto(found, cal.page, `invitation to confirm (${scheme})`);
      await cal.context.close();
      await ana.page.keyboard.press("Escape");
      await openPeople(ana.page, "Ben");
      await ana.page.getByRole("button", { name: "Message Ben" }).waitFor();
      await axeInto(found, ana.page, `people list with Message (${scheme})`);
      await ana.page.getByRole("button", { name: "Message Ben" }).click();
      await ana.page.waitForURL(/\/chat\/dm-/);
      await statusIs(ana.page, "live");
      await send(ana.page, `hello in ${scheme}`);
      await axeInto(found, ana.page, `a direct conversation (${scheme})`);
      await ben.page.goto("/");
      await hydrated(ben.page);
      await ben.page.getByTestId("unread").first().waitFor();
      await axeInto(found, ben.page, `lobby with conversations (${scheme})`);
      await ben.page.goto("/invite/AAAAAAAAAAAAAAAAAAAAAA");
      await ben.page.getByTestId("invite-refused").waitFor();
      await axeInto(found, ben.page, `refused invite (${scheme})`);
      await ana.context.close();
      await ben.context.close();
    }
    assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
  });
});

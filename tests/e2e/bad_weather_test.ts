/**
 * Browser tests for bad weather: a server restart, a signing secret that
 * changed, bursts of messages, a lost network and a sign-out in another tab.
 * Each ends with everyone back and every message delivered once, without a
 * reload or a click on Retry. Servers that restart run as OS processes on
 * one data folder and port; every wait is on an event or a DOM state.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { guestCookie } from "../../support/guest.ts";
import { type ServerProcess, spawnServer } from "../_helpers/process.ts";
import { startServer } from "../_helpers/server.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";
import {
  composer,
  confirmed,
  type GuestMinter,
  hydrated,
  joinWithCookie,
  noticeHistory,
  send,
  statusHistory,
  statusIs,
  withBrowser,
  withSession,
} from "./_browser.ts";

/** How soon after the server answers again every room must be live (issue 13). */
const BACK_WITHIN_MS = 10_000;
/** How soon a dead network must show (issue 13). */
const DEAD_PATH_SHOWN_MS = 30_000;

/** A server in its own process on its own data folder, restarted on the same port. */
interface RestartableServer extends GuestMinter {
  /** SIGINT, and waits for the exit (sockets are closed with 1012). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, with `env` on top. */
  start(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

async function restartableServer(
  env: Record<string, string>,
): Promise<RestartableServer> {
  const dir = await Deno.makeTempDir();
  const base = { ...env, KV_PATH: `${dir}/roomcast.kv` };
  let proc: ServerProcess | null = await spawnServer(base);
  const { origin, port } = proc;
  return {
    origin,
    guest: async (name) => ({ cookie: await guestCookie(origin, name) }),
    async stop() {
      const status = await proc!.kill("SIGINT");
      proc = null;
      assert.equal(status.code, 0, "a clean exit on SIGINT");
    },
    async start(more = {}) {
      proc = await spawnServer({ ...base, ...more, PORT: String(port) });
    },
    async close() {
      await proc?.kill("SIGKILL");
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** What the server stored in `room`, oldest first (the source of truth). */
async function stored(origin: string, room: string): Promise<ChatMessage[]> {
  const res = await fetch(`${origin}/api/rooms/${room}/messages?limit=100`);
  assert.equal(res.status, 200);
  return (await res.json()).messages;
}

function storedCount(messages: ChatMessage[], text: string): number {
  return messages.filter((m) => m.text === text).length;
}

/** Pending (not yet stored) messages whose text is `text`. */
function pendingMessage(page: Page, text: string): Locator {
  return page.locator("li.message.pending .message-text").filter({
    hasText: text,
  });
}

/** The status badge, once it shows any of `statuses`. */
function statusIn(page: Page, ...statuses: string[]): Locator {
  return page.locator(
    statuses.map((s) => `[data-testid="status"][data-status="${s}"]`).join(),
  );
}

/** Types `text` and presses Enter, without waiting for the server. */
async function write(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

Deno.test("a server restart without SESSION_SECRET: both people come back by themselves; what was typed meanwhile is delivered once", async () => {
  const server = await restartableServer({ SESSION_SECRET: "" });
  try {
    await withBrowser("restart", server, async (s) => {
      const room = "restart";
      const ana = await s.open();
      await joinWithCookie(ana, server, "Ana", room);
      const ben = await s.open();
      await joinWithCookie(ben, server, "Ben", room);
      await send(ana.page, "before the restart");
      await confirmed(ben.page, "before the restart").waitFor();

      await server.stop();
      for (const { page } of [ana, ben]) await statusIs(page, "reconnecting");
      const text = "typed during the outage";
      await write(ana.page, text);
      await pendingMessage(ana.page, text).waitFor();

      await server.start();
      const answered = Date.now();
      await Promise.all(
        [ana, ben].map(({ page }) =>
          statusIn(page, "live").waitFor({ timeout: BACK_WITHIN_MS })
        ),
      );
      assert.ok(Date.now() - answered < BACK_WITHIN_MS);
      await confirmed(ben.page, text).waitFor();
      await confirmed(ana.page, text).waitFor();
      await ana.page.locator("li.message.pending").waitFor({
        state: "detached",
      });
      // A marker after it: once it arrives, every earlier frame has too.
      await send(ben.page, "marker after the restart");
      await confirmed(ana.page, "marker after the restart").waitFor();
      for (const { page } of [ana, ben]) {
        assert.equal(await confirmed(page, text).count(), 1);
        assert.deepEqual(await noticeHistory(page), [], "no notice");
        assert.ok(!(await statusHistory(page)).includes("signed-out"));
      }
      assert.equal(storedCount(await stored(server.origin, room), text), 1);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a changed signing secret signs everyone out in place; signing in again delivers the pending message once", async () => {
  const server = await restartableServer({
    SESSION_SECRET: "first-secret-0123456789-abcdefghijklmnop",
  });
  try {
    await withBrowser("secret changed", server, async (s) => {
      const room = "rekeyed";
      const ana = await s.open();
      await joinWithCookie(ana, server, "Ana", room);
      const { page } = ana;
      await send(page, "signed with the first secret");

      await server.stop();
      await statusIs(page, "reconnecting");
      const text = "typed before the sign-out showed";
      await write(page, text);
      await pendingMessage(page, text).waitFor();
      await server.start({
        SESSION_SECRET: "second-secret-0123456789-abcdefghijklmno",
      });

      // The socket is refused (401): the room says so, in place, with a form.
      await statusIs(page, "signed-out");
      const panel = page.getByTestId("signed-out");
      await panel.getByRole("heading", { name: "You're signed out" }).waitFor();
      await page.getByRole("alert").filter({ hasText: "Sign in again" })
        .waitFor();
      await page.getByTestId("user-name").waitFor({ state: "detached" });
      assert.equal(await composer(page).count(), 0, "no composer");
      assert.equal(await pendingMessage(page, text).count(), 1, "still kept");

      await panel.getByLabel("Your display name").fill("Ana again");
      await panel.getByRole("button", { name: "Join as guest" }).click();
      await statusIs(page, "live");
      await page.getByTestId("user-name").filter({ hasText: "Ana again" })
        .waitFor();
      await confirmed(page, text).waitFor();
      await page.locator("li.message.pending").waitFor({ state: "detached" });
      assert.equal(new URL(page.url()).pathname, `/chat/${room}`, "no reload");
      await send(page, "marker after signing in");
      const messages = await stored(server.origin, room);
      assert.equal(storedCount(messages, text), 1);
      assert.equal(
        messages.find((m) => m.text === text)?.user.name,
        "Ana again",
      );
      assert.equal(await confirmed(page, text).count(), 1);
    });
  } finally {
    await server.close();
  }
});

Deno.test("typing at human speed never warns; 40 messages sent at once all arrive in order, paced, by themselves", async () => {
  // The default limits: burst 20, 2 per second.
  const server = await startServer();
  try {
    await withBrowser("bursts", server, async (s) => {
      const room = "bursts";
      const tab = await s.open();
      await joinWithCookie(tab, server, "Ana", room);
      const { page } = tab;
      const box = composer(page);

      // 15 short messages typed key by key (typing frames and all) over ~8 s.
      const started = Date.now();
      const typed = Array.from({ length: 15 }, (_, i) => `typed ${i + 1} ok`);
      for (const text of typed) {
        await box.pressSequentially(text, { delay: 45 });
        await box.press("Enter");
      }
      await confirmed(page, typed.at(-1)!).waitFor();
      const typingTook = Date.now() - started;
      assert.ok(typingTook > 6_000, `typed over ${typingTook} ms`);

      // 40 pasted and sent at once.
      const pasted = Array.from({ length: 40 }, (_, i) => `pasted ${i + 1}`);
      for (const text of pasted) await write(page, text);
      await confirmed(page, pasted.at(-1)!).waitFor({ timeout: 40_000 });
      await page.locator("li.message.pending").waitFor({ state: "detached" });

      const messages = await stored(server.origin, room);
      assert.deepEqual(messages.map((m) => m.text), [...typed, ...pasted]);
      // Paced: what the burst could not hold went out at about 2 a second.
      const inPaste = messages.slice(typed.length);
      const span = inPaste.at(-1)!.ts - inPaste[0].ts;
      assert.ok(span >= (40 - 20) / 2 * 1_000 - 1_000, `over ${span} ms`);
      assert.deepEqual(await noticeHistory(page), [], "never a warning");
      assert.deepEqual(await statusHistory(page), ["connecting", "live"]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a lost network shows Offline; back online the room is live and the message written offline is delivered once", async () => {
  await withSession("offline", async (s) => {
    const room = "offline";
    const ana = await s.open();
    await joinWithCookie(ana, s.server, "Ana", room);
    const ben = await s.open();
    await joinWithCookie(ben, s.server, "Ben", room);
    await send(ana.page, "before the network went");
    await confirmed(ben.page, "before the network went").waitFor();

    await ana.context.setOffline(true);
    await statusIn(ana.page, "offline", "reconnecting").waitFor({
      timeout: DEAD_PATH_SHOWN_MS,
    });
    const text = "written offline";
    await write(ana.page, text);
    await pendingMessage(ana.page, text).waitFor();
    const whileOffline = await s.server.services.store.recent(room, 100);
    assert.equal(storedCount(whileOffline.messages, text), 0);

    await ana.context.setOffline(false);
    await statusIs(ana.page, "live");
    await confirmed(ben.page, text).waitFor();
    await confirmed(ana.page, text).waitFor();
    await send(ben.page, "marker after the network came back");
    await confirmed(ana.page, "marker after the network came back").waitFor();
    const after = await s.server.services.store.recent(room, 100);
    assert.equal(storedCount(after.messages, text), 1);
    assert.equal(await confirmed(ana.page, text).count(), 1);
    assert.equal(await ana.page.locator("li.message.pending").count(), 0);
    assert.ok((await statusHistory(ana.page)).includes("offline"));
  });
});

Deno.test("a sign-out in one tab shows in the other in place, navbar and all; signing in there reaches the first tab", async () => {
  await withSession("tabs", async (s) => {
    const room = "tabs";
    const a = await s.open();
    await joinWithCookie(a, s.server, "Ana", room);
    const b = await a.context.newPage();
    await b.goto(`/chat/${room}`);
    await hydrated(b);
    await statusIs(b, "live");

    await a.page.getByRole("button", { name: "Sign out" }).click();
    await a.page.getByRole("button", { name: "Join as guest" }).waitFor();

    // Tab B: signed out where it stands, with a way back in.
    await statusIs(b, "signed-out");
    const panel = b.getByTestId("signed-out");
    await panel.getByRole("heading", { name: "You're signed out" }).waitFor();
    await b.getByTestId("user-name").waitFor({ state: "detached" });
    assert.equal(await b.getByRole("button", { name: "Sign out" }).count(), 0);
    assert.equal(await composer(b).count(), 0);
    await b.getByRole("alert").filter({ hasText: "Sign in again" }).waitFor();

    // Signing in again in B: B is live as the new user, A's navbar follows.
    await panel.getByLabel("Your display name").fill("Ana again");
    await panel.getByRole("button", { name: "Join as guest" }).click();
    await statusIs(b, "live");
    await b.getByTestId("user-name").filter({ hasText: "Ana again" }).waitFor();
    await a.page.getByTestId("user-name").filter({ hasText: "Ana again" })
      .waitFor();
    await send(b, "back in tab B");
  });
});

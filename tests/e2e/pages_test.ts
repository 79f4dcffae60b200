/**
 * The pages around the room, in Chromium: error pages in the app's layout
 * with a way back, the lobby's room field explaining itself and offering the
 * name that works, and the room's sign-in offer with Google's button when
 * Google is configured (Google's script stood in for by a local stub, the
 * ID token signed by the tests' own JWKS).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startServer } from "../_helpers/server.ts";
import { CLIENT_ID, mint, newKey, startJwks } from "../_helpers/google.ts";
import { GOOGLE_GSI } from "../../lib/shared.ts";
import { ROUTE_ERRORS } from "../../lib/web/errors.ts";
import {
  cspViolations,
  hydrated,
  statusIs,
  withBrowser,
  withSession,
} from "./_browser.ts";
import { axeInto } from "./_axe.ts";

Deno.test("error pages: an unknown path and /chat/Café are pages in the app's layout with a way back; axe finds nothing, light and dark", async () => {
  await withSession("error pages", async (s) => {
    const found: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      const tab = await s.open({ colorScheme });
      const { page } = tab;
      const res = await page.goto("/no/such/page");
      assert.equal(res?.status(), 404);
      await page.getByRole("heading", { name: "Page not found" }).waitFor();
      assert.equal(
        await page.getByTestId("error-message").textContent(),
        ROUTE_ERRORS.not_found.message,
      );
      await hydrated(page); // the navbar's island: the page is the app's
      await axeInto(found, page, `404 (${colorScheme})`);
      await page.getByRole("link", { name: "Back to the lobby" }).click();
      await page.waitForURL(`${s.server.origin}/`);

      const cafe = await page.goto("/chat/Caf%C3%A9");
      assert.equal(cafe?.status(), 400);
      await page.getByRole("heading", { name: "That address does not work" })
        .waitFor();
      await axeInto(found, page, `400 (${colorScheme})`);
      await page.getByRole("link", { name: "Go to #cafe" }).click();
      await page.waitForURL("**/chat/cafe");
      assert.deepEqual(await cspViolations(tab), []);
      await tab.context.close();
    }
    assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
  });
});

/** The room field's accessible description: what a screen reader reads with it. */
function description(page: Page): Promise<string> {
  return page.getByLabel("Room").evaluate((el) =>
    (el.getAttribute("aria-describedby") ?? "").split(" ")
      .map((id) => document.getElementById(id)?.textContent ?? "").join(" ")
  );
}

Deno.test("the lobby's room field says which characters work and offers the name that does: 'My Room!' → #my-room", async () => {
  await withSession("lobby room field", async (s) => {
    const tab = await s.open();
    const { page } = tab;
    await page.goto("/");
    await hydrated(page);
    const field = page.getByLabel("Room");
    assert.match(await description(page), /Letters a–z, digits, '-' and '_'/);

    await field.fill("My Room");
    await page.getByTestId("room-preview").filter({ hasText: "#my-room" })
      .waitFor();
    assert.equal(await field.getAttribute("aria-invalid"), null);

    await field.fill("My Room!");
    await page.getByTestId("room-feedback").waitFor();
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    assert.ok(
      (await description(page)).includes(ROUTE_ERRORS.bad_room.message),
      "the reason is part of the field's description",
    );
    const found: string[] = [];
    await axeInto(found, page, "the lobby, a refused room name");
    assert.deepEqual(found, [], found.join("\n"));

    // Join refuses in place (no trip to the server), the field keeps the focus.
    await page.getByRole("button", { name: "Join", exact: true }).click();
    assert.equal(new URL(page.url()).pathname, "/");
    assert.ok(await field.evaluate((el) => el === document.activeElement));

    await page.getByRole("link", { name: "Use #my-room" }).click();
    await page.waitForURL("**/chat/my-room");
    await page.getByTestId("room-title").filter({ hasText: "#my-room" })
      .waitFor();

    // Without JavaScript the server says the same, after the round trip.
    const plain = await s.browser.newContext({
      baseURL: s.server.origin,
      javaScriptEnabled: false,
    });
    try {
      const noJs = await plain.newPage();
      await noJs.goto("/");
      await noJs.getByLabel("Room").fill("Café!");
      await noJs.getByRole("button", { name: "Join", exact: true }).click();
      await noJs.getByRole("link", { name: "Use #cafe" }).waitFor();
      assert.equal(
        await noJs.getByLabel("Room").inputValue(),
        "Café!",
        "what was typed is kept",
      );
    } finally {
      await plain.close();
    }
  });
});

Deno.test("a signed-out visitor of a room is offered Google's button (when configured) beside the guest form, and it signs them in", async () => {
  const key = await newKey("k1");
  const jwks = await startJwks([key]);
  const server = await startServer({
    GOOGLE_CLIENT_ID: CLIENT_ID,
    GOOGLE_JWKS_URL: jwks.url,
  });
  try {
    const token = await mint(key);
    // Google's script, stood in for: the real one's API, a button that hands
    // over a token signed with the tests' key. Served at Google's address, so
    // the page's CSP is what lets it in.
    const stub = `window.google = { accounts: { id: {
      initialize(options) { window.__gis = options; },
      renderButton(parent) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Sign in with Google";
        b.onclick = () => window.__gis.callback({ credential: ${
      JSON.stringify(token)
    } });
        parent.appendChild(b);
      },
    } } };`;
    await withBrowser("room google sign-in", server, async (s) => {
      const tab = await s.open();
      const { page } = tab;
      await page.route(`${GOOGLE_GSI.script}*`, (route) =>
        route.fulfill({
          status: 200,
          contentType: "text/javascript",
          body: stub,
        }));
      await page.goto("/chat/shared-link");
      await hydrated(page);
      await page.getByTestId("google-signin").waitFor();
      await page.getByLabel("Your display name").waitFor();
      await page.getByRole("button", { name: "Sign in with Google" }).click();
      await page.getByTestId("user-name").filter({ hasText: "Ana Lima" })
        .waitFor();
      await hydrated(page);
      await statusIs(page, "live");
      assert.equal(new URL(page.url()).pathname, "/chat/shared-link");
      assert.deepEqual(await cspViolations(tab), []);
    });
  } finally {
    await server.close();
    await jwks.close();
  }
});

Deno.test("axe finds nothing in dark mode either: the lobby sent back with a refused name, and the offline page", async () => {
  await withSession("pages dark", async (s) => {
    const found: string[] = [];
    const tab = await s.open({ colorScheme: "dark" });
    const { page } = tab;
    await page.goto("/?error=room&room=My+Room%21");
    await hydrated(page);
    await page.getByRole("link", { name: "Use #my-room" }).waitFor();
    await axeInto(found, page, "the lobby, a refused name (dark)");
    await page.goto("/offline");
    await page.getByRole("heading", { name: "You're offline" }).waitFor();
    await axeInto(found, page, "the offline page (dark)");
    assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
  });
});

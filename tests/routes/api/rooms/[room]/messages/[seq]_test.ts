import assert from "node:assert/strict";
import { startServer } from "../../../../../_helpers/server.ts";
import { TestClient } from "../../../../../_helpers/ws_client.ts";
import { googleUser } from "../../../../../_helpers/people.ts";
import { DEFAULT_ROOM_SETTINGS } from "../../../../../../lib/chat/moderation.ts";

Deno.test("PATCH/DELETE /api/rooms/:room/messages/:seq and POST …/reactions: the author's, live to sockets; others 403; the deleted text in no API", async () => {
  const server = await startServer({ RATE_LIMIT_BURST: "100" });
  try {
    const ana = await server.guest("Ana");
    const ben = await server.guest("Ben");
    const reader = await TestClient.connect(server.wsUrl("api"), {
      cookie: ben.cookie,
      origin: server.origin,
    });
    await reader.nextOf("welcome");
    const call = (
      method: string,
      path: string,
      token: string,
      body?: unknown,
    ) =>
      fetch(`${server.origin}/api/rooms/api/messages${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const posted = await call("POST", "", ana.token, { text: "hush hush" });
    const { message } = await posted.json();
    await reader.nextOf("message");

    const notYours = await call("PATCH", `/${message.seq}`, ben.token, {
      text: "mine now",
    });
    assert.equal(notYours.status, 403);
    assert.equal((await notYours.json()).error, "forbidden");
    const notYoursEither = await call("DELETE", `/${message.seq}`, ben.token);
    assert.equal(notYoursEither.status, 403);
    await notYoursEither.body?.cancel();
    const missing = await call("DELETE", "/999", ana.token);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    const edited = await call("PATCH", `/${message.seq}`, ana.token, {
      text: "hush hush hush",
      clientId: "edit-1",
    });
    assert.equal(edited.status, 201);
    const { event } = await edited.json();
    assert.equal((await reader.nextOf("event")).event.seq, event.seq);
    const retried = await call("PATCH", `/${message.seq}`, ana.token, {
      text: "hush hush hush",
      clientId: "edit-1",
    });
    assert.equal(retried.status, 200, "a retry is applied once");
    await retried.body?.cancel();

    const reacted = await call("POST", `/${message.seq}/reactions`, ben.token, {
      emoji: "🤫",
      on: true,
    });
    assert.equal(reacted.status, 201);
    await reacted.body?.cancel();
    const bad = await call("POST", `/${message.seq}/reactions`, ben.token, {
      emoji: "no",
      on: true,
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    assert.equal((await reader.nextOf("event")).event.kind, "react");

    const deleted = await call("DELETE", `/${message.seq}`, ana.token);
    assert.equal(deleted.status, 201);
    await deleted.body?.cancel();
    assert.equal((await reader.nextOf("event")).event.kind, "delete");
    const pages = await Promise.all([
      call("GET", "", ana.token),
      call("GET", "?after=0", ana.token),
      call("GET", "?before=100", ana.token),
    ]);
    for (const page of pages) {
      assert.equal(page.status, 200);
      const text = await page.text();
      assert.ok(!text.includes("hush"), text);
    }
    const html = await (await fetch(`${server.origin}/chat/api`, {
      headers: { cookie: ana.cookie },
    })).text();
    assert.ok(!html.includes("hush"), "nor the page");
    await reader.close();
  } finally {
    await server.close();
  }
});

Deno.test("no-JS forms: delete posts a form and is redirected back; a reply posts replyTo", async () => {
  const server = await startServer();
  try {
    const ana = await server.guest("Ana");
    const form = (path: string, fields: Record<string, string>) =>
      fetch(`${server.origin}/api/rooms/forms/messages${path}`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: ana.cookie,
          origin: server.origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams(fields),
      });
    const first = await form("", { text: "parent" });
    assert.equal(first.status, 303);
    await first.body?.cancel();
    const reply = await form("", { text: "child", replyTo: "1" });
    assert.equal(reply.status, 303);
    await reply.body?.cancel();
    const stored = await server.services.store.get("forms", 2);
    assert.equal(stored?.replyTo, 1);
    // The no-JS page offers both: a reply link that prefills, a delete form for your own.
    const page = await (await fetch(`${server.origin}/chat/forms?actions=1`, {
      headers: { cookie: ana.cookie },
    })).text();
    assert.ok(
      page.includes('href="/chat/forms?replyTo=1#composer"'),
      "reply link",
    );
    assert.ok(
      page.includes('action="/api/rooms/forms/messages/1"'),
      "delete form",
    );
    const prefilled =
      await (await fetch(`${server.origin}/chat/forms?replyTo=1`, {
        headers: { cookie: ana.cookie },
      })).text();
    assert.ok(
      prefilled.includes('name="replyTo" value="1"'),
      "the composer replies",
    );
    const del = await form("/1", { action: "delete" });
    assert.equal(del.status, 303);
    assert.equal(del.headers.get("location"), "/chat/forms#m1");
    await del.body?.cancel();
    assert.ok((await server.services.store.get("forms", 1))?.deleted);
    assert.deepEqual((await server.services.store.get("forms", 2))?.quote, {
      state: "deleted",
    });
  } finally {
    await server.close();
  }
});

Deno.test("no-JS page: a moderator gets a delete form on anyone's message and it deletes as a moderator; a member gets one on their own only", async () => {
  const server = await startServer();
  try {
    const [ana, ben, cal] = await Promise.all([
      googleUser("ana", "Ana"),
      googleUser("ben", "Ben"),
      googleUser("cal", "Cal"),
    ]);
    await server.services.rooms.create("modded", ana.user, {
      ...DEFAULT_ROOM_SETTINGS,
    });
    await server.services.rooms.setRole("modded", ben.user, "moderator");
    const { message } = await server.services.store.append({
      room: "modded",
      user: cal.user,
      text: "spam",
      clientId: "c1",
    });
    const pageAs = async (cookie: string) =>
      await (await fetch(`${server.origin}/chat/modded?actions=1`, {
        headers: { cookie },
      })).text();
    const deleteForm = `action="/api/rooms/modded/messages/${message.seq}"`;
    const forBen = await pageAs(ben.cookie);
    assert.ok(forBen.includes(deleteForm), "the moderator's delete form");
    assert.ok(forBen.includes('aria-label="Delete as moderator"'));
    assert.ok((await pageAs(cal.cookie)).includes(deleteForm), "the author's");
    const forDee = await pageAs((await googleUser("dee", "Dee")).cookie);
    assert.ok(!forDee.includes(deleteForm), "no form on someone else's");

    const posted = await fetch(
      `${server.origin}/api/rooms/modded/messages/${message.seq}`,
      {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: ben.cookie,
          origin: server.origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ action: "delete" }),
      },
    );
    assert.equal(posted.status, 303);
    assert.equal(
      posted.headers.get("location"),
      `/chat/modded#m${message.seq}`,
    );
    await posted.body?.cancel();
    const stored = await server.services.store.get("modded", message.seq);
    assert.equal(stored?.deleted?.by, "moderator");
    assert.equal(stored?.text, "");
  } finally {
    await server.close();
  }
});

Deno.test("GET ?after= is the log after a seq: a bot polling by seq sees edits, reactions and deletes of older messages", async () => {
  const server = await startServer({ RATE_LIMIT_BURST: "100" });
  try {
    const ana = await server.guest("Ana");
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${server.origin}/api/rooms/polled/messages${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ana.token}`,
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const posted = await call("POST", "", { text: "first draft" });
    const { message } = await posted.json();
    const polled = await (await call("GET", `?after=${message.seq}`)).json();
    assert.deepEqual(polled, { messages: [], events: [], hasMore: false });

    for (
      const [method, path, body] of [
        ["PATCH", `/${message.seq}`, { text: "second draft" }],
        ["POST", `/${message.seq}/reactions`, { emoji: "👍", on: true }],
        ["POST", "", { text: "and a new one" }],
        ["DELETE", `/${message.seq}`, undefined],
      ] as const
    ) {
      const res = await call(method, path, body);
      assert.equal(res.status, 201, `${method} ${path}`);
      await res.body?.cancel();
    }
    const page = await (await call("GET", `?after=${message.seq}`)).json();
    assert.deepEqual(
      page.events.map((e: { kind: string; target: number }) => [
        e.kind,
        e.target,
      ]),
      [["edit", message.seq], ["react", message.seq], [
        "delete",
        message.seq,
      ]],
    );
    assert.deepEqual(
      page.messages.map((m: { text: string }) => m.text),
      ["and a new one"],
    );
    assert.ok(!JSON.stringify(page).includes("draft"), "no deleted text");
  } finally {
    await server.close();
  }
});

import assert from "node:assert/strict";
import {
  READ_BURST,
  READ_RATE_PER_S,
} from "../../../../../lib/chat/rate_limit.ts";
import { startServer } from "../../../../_helpers/server.ts";
import { TestClient } from "../../../../_helpers/ws_client.ts";

Deno.test("POST /api/rooms/:room/messages stores then broadcasts to the room's sockets, once per clientId", async () => {
  const server = await startServer();
  try {
    const bot = await server.guest("Bot");
    const reader = await server.guest("Reader");
    const client = await TestClient.connect(server.wsUrl("news"), {
      cookie: reader.cookie,
      origin: server.origin,
    });
    await client.nextOf("welcome");
    const post = () =>
      fetch(`${server.origin}/api/rooms/news/messages`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${bot.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ text: "build passed", clientId: "bot-1" }),
      });
    const first = await post();
    assert.equal(first.status, 201);
    const { message } = await first.json();
    assert.equal((await client.nextOf("message")).message.id, message.id);
    const retry = await post();
    assert.equal(retry.status, 200);
    const again = await retry.json();
    assert.equal(again.duplicate, true);
    assert.equal(again.message.seq, message.seq);
    assert.deepEqual(
      (await server.services.store.recent("news", 10)).messages.map((m) =>
        m.text
      ),
      ["build passed"],
    );
    await client.close();
  } finally {
    await server.close();
  }
});

Deno.test("GET /api/rooms/:room/messages pages history before and after a seq; bad queries → 400", async () => {
  const server = await startServer({ RATE_LIMIT_BURST: "100" });
  try {
    const bot = await server.guest("Bot");
    for (let i = 1; i <= 30; i++) {
      const res = await fetch(`${server.origin}/api/rooms/pages/messages`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${bot.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ text: `m${i}` }),
      });
      await res.body?.cancel();
    }
    const get = async (query: string) => {
      const res = await fetch(
        `${server.origin}/api/rooms/pages/messages${query}`,
      );
      return { status: res.status, body: await res.json() };
    };
    const recent = await get("?limit=10");
    assert.deepEqual(recent.body.messages.map((m: { seq: number }) => m.seq), [
      21,
      22,
      23,
      24,
      25,
      26,
      27,
      28,
      29,
      30,
    ]);
    assert.equal(recent.body.hasMore, true);
    const older = await get("?before=21&limit=10");
    assert.deepEqual(
      older.body.messages.map((m: { seq: number }) => m.seq)[0],
      11,
    );
    const newer = await get("?after=25&limit=10");
    assert.deepEqual(newer.body.messages.map((m: { seq: number }) => m.seq), [
      26,
      27,
      28,
      29,
      30,
    ]);
    assert.equal(newer.body.hasMore, false);
    const bads = [
      "?limit=0",
      "?limit=1000",
      "?limit=abc",
      "?limit=1.5",
      "?before=-1",
      "?after=abc",
    ];
    for (const bad of bads) {
      assert.equal((await get(bad)).status, 400, bad);
    }
  } finally {
    await server.close();
  }
});

Deno.test("the no-JS composer: a same-origin form post stores and redirects back; a cross-site one is refused", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Noor");
    const form = (origin: string) =>
      fetch(`${server.origin}/api/rooms/plain/messages`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie,
          origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ text: "no js here" }).toString(),
      });
    const ok = await form(server.origin);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/chat/plain#m1");
    await ok.body?.cancel();
    const evil = await form("https://evil.example");
    assert.equal(evil.status, 403);
    await evil.body?.cancel();
    assert.equal(await server.services.store.lastSeq("plain"), 1);
  } finally {
    await server.close();
  }
});

Deno.test("HTTP posts share the flood limit: over it → 429 with Retry-After", async () => {
  const server = await startServer({
    RATE_LIMIT_BURST: "3",
    RATE_LIMIT_PER_SECOND: "1",
  });
  try {
    const bot = await server.guest("Bot");
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.origin}/api/rooms/flood/messages`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${bot.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ text: `m${i}` }),
      });
      statuses.push(res.status);
      retryAfter ??= res.headers.get("retry-after");
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
    assert.ok(Number(retryAfter) >= 1);
    assert.equal(await server.services.store.lastSeq("flood"), 3);
  } finally {
    await server.close();
  }
});

Deno.test("GET history shares the socket's read budget: over it → 429 with Retry-After, per person", async () => {
  const server = await startServer();
  try {
    const { cookie } = await server.guest("Reader");
    // The bucket refills while we ask (READ_RATE_PER_S), so on a slow machine
    // a few more than the burst may pass: ask until refused, then check that
    // no more passed than the burst plus what refilled meanwhile.
    const started = performance.now();
    let passed = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 10 * READ_BURST && !refused; i++) {
      const res = await fetch(`${server.origin}/api/rooms/r/messages`, {
        headers: { cookie },
      });
      if (res.status === 429) refused = res;
      else {
        assert.equal(res.status, 200);
        passed++;
        await res.body?.cancel();
      }
    }
    const refilled = Math.ceil(
      ((performance.now() - started) / 1000) * READ_RATE_PER_S,
    );
    assert.ok(refused, "refused once over the budget");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal((await refused.json()).error, "rate_limited");
    assert.ok(
      passed >= READ_BURST && passed <= READ_BURST + refilled,
      `${passed} passed; burst ${READ_BURST}, refilled ${refilled}`,
    );
    // Someone else is not affected.
    const other = await server.guest("Other");
    const res = await fetch(`${server.origin}/api/rooms/r/messages`, {
      headers: { cookie: other.cookie },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await server.close();
  }
});

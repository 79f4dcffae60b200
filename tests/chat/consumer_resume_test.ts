/**
 * `resume` right after `welcome`: answered without a store read when the
 * welcome is all the socket was told and the client holds the log up to its
 * head (what follows reaches it live); answered from the store once anything
 * else was relayed (a message, a `resync`), so a gap is always filled.
 * A socket opened with `?after=`: a welcome without history (`resumeFrom`),
 * then the server's own answer to that resume.
 * A real server on a free port and real WebSocket clients.
 */
import assert from "node:assert/strict";
import { MAX_AFTER_GAP, resumesFromAfter } from "../../lib/chat/consumer.ts";
import { type ServerFrame } from "../../lib/chat/protocol.ts";
import { Timeline } from "../../lib/chat/timeline.ts";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { eventually } from "../../support/wait.ts";

type History = Extract<ServerFrame, { type: "history" }>;
type Welcome = Extract<ServerFrame, { type: "welcome" }>;

/** Runs `fn` against a fresh server; closes the clients it put in `open`, then the server. */
async function withServer(
  env: Record<string, string> | undefined,
  fn: (server: TestServer, open: TestClient[]) => Promise<void>,
): Promise<void> {
  const server = await startServer(env);
  const open: TestClient[] = [];
  try {
    await fn(server, open);
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
}

function connect(
  server: TestServer,
  room: string,
  cookie: string,
  after?: number,
) {
  const url = server.wsUrl(room);
  return TestClient.connect(
    after === undefined ? url : `${url}?after=${after}`,
    {
      cookie,
      origin: server.origin,
    },
  );
}

/** Signs `name` in as a guest and opens their socket in `room` (with `?after=` when given); `open` closes it. */
async function guestSocket(
  server: TestServer,
  open: TestClient[],
  room: string,
  name: string,
  after?: number,
): Promise<TestClient> {
  const client = await connect(
    server,
    room,
    (await server.guest(name)).cookie,
    after,
  );
  open.push(client);
  return client;
}

/**
 * Every frame `client` received up to (not counting) the `pong` answering a
 * ping sent now: the server answers frames in order, so nothing it was
 * going to send unasked before then is missing.
 */
async function framesUntilPong(client: TestClient): Promise<ServerFrame[]> {
  client.send({ type: "ping" });
  await client.nextOf("pong");
  const at = client.frames.findLastIndex((f) => f.type === "pong");
  return client.frames.slice(0, at);
}

/** Counts the store's `since` reads (what a `resume` costs). */
function countSince(server: TestServer): () => number {
  const { store } = server.services;
  const since = store.since.bind(store);
  let reads = 0;
  store.since = (...args) => {
    reads++;
    return since(...args);
  };
  return () => reads;
}

/** The store's read methods, as {@link countReads} counts them. */
const READS = [
  "since",
  "get",
  "recent",
  "before",
  "after",
  "lastSeq",
  "countAfter",
  "rooms",
  "summaries",
] as const;

/**
 * Counts the store's reads by method (only those made, so an empty object is
 * none). With `hold`, the first `lastSeq` read waits for it before reading.
 */
function countReads(
  server: TestServer,
  hold?: Promise<void>,
): Record<string, number> {
  const store = server.services.store as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >;
  const counts: Record<string, number> = {};
  for (const name of READS) {
    const read = store[name].bind(store);
    store[name] = async (...args) => {
      counts[name] = (counts[name] ?? 0) + 1;
      if (name === "lastSeq" && counts[name] === 1) await hold;
      return await read(...args);
    };
  }
  return counts;
}

/** The text of the welcome `client` was sent, as sent. */
async function welcomeText(client: TestClient): Promise<string> {
  await client.nextOf("welcome");
  return client.texts[client.frames.findIndex((f) => f.type === "welcome")];
}

const user = { id: "guest:seed", name: "Seed", kind: "guest" } as const;

/** Stores messages 1..`count` in `room`, before anyone connects. */
async function seed(
  server: TestServer,
  room: string,
  count: number,
): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await server.services.store.append({
      room,
      user,
      text: `m${i}`,
      clientId: `seed-${i}`,
    });
  }
}

Deno.test("resume from the welcome's head with nothing relayed since costs no read; after a relayed message it reads the store and fills the gap", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "resume-welcome";
    await seed(server, room, 3);
    const reads = countSince(server);
    const ana = await guestSocket(server, open, room, "Ana");
    const welcome = await ana.nextOf("welcome");
    assert.equal(welcome.lastSeq, 3);
    assert.deepEqual(welcome.history.map((m) => m.seq), [1, 2, 3]);

    ana.send({ type: "resume", after: 3 });
    const first = await ana.next<History>((f) => f.type === "history");
    assert.deepEqual(first.messages, []);
    assert.equal(first.hasMore, false);
    assert.equal(reads(), 0, "answered by the welcome");

    // Ben posts: Ana is sent it live, and from then on a resume reads the store.
    const ben = await guestSocket(server, open, room, "Ben");
    await ben.nextOf("welcome");
    ben.send({ type: "message", text: "hello", clientId: "ben-1" });
    const live = await ana.next((f) => f.type === "message");
    assert.equal(live.type === "message" && live.message.seq, 4);

    // As a client that lost seq 4 would ask: the store answers with it.
    ana.send({ type: "resume", after: 3 });
    const second = await ana.next<History>((f) => f.type === "history");
    assert.deepEqual(second.messages.map((m) => m.seq), [4]);
    assert.equal(reads(), 1);
  });
});

Deno.test("resume from before the welcome's head (a gap the welcome page does not cover) reads the store", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "resume-gap";
    await seed(server, room, 3);
    const reads = countSince(server);
    const ana = await guestSocket(server, open, room, "Ana");
    await ana.nextOf("welcome");
    ana.send({ type: "resume", after: 1 });
    const page = await ana.next<History>((f) => f.type === "history");
    assert.deepEqual(page.messages.map((m) => m.seq), [2, 3]);
    assert.equal(reads(), 1);
  });
});

Deno.test("a socket opened with ?after=N: a welcome without history, then exactly the messages and events after N, as resume {after: N} answers", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "after-events";
    const { store } = server.services;
    await seed(server, room, 6);
    const held = (await store.recent(room, 10)).messages.slice(0, 4);
    // After seq 4: an edit of 2, a reaction on 5, a delete of 3, message 10.
    for (
      const op of [
        { kind: "edit", target: 2, text: "m2, edited" },
        { kind: "react", target: 5, emoji: "👍", on: true },
        { kind: "delete", target: 3, by: "author" },
      ] as const
    ) {
      const done = await store.applyEvent({
        room,
        user,
        clientId: `e-${op.target}`,
        op,
      });
      assert.ok(done.ok);
    }
    await seed(server, room, 7); // seq 10 (clientIds 1..6 are already stored)
    assert.equal(await store.lastSeq(room), 10);

    // What a resume {after: 4} on a plain socket is answered with.
    const plain = await guestSocket(server, open, room, "Pat");
    await plain.nextOf("welcome");
    plain.send({ type: "resume", after: 4 });
    const expected = await plain.nextOf("history");

    const ana = await guestSocket(server, open, room, "Ana", 4);
    const welcome = await ana.nextOf("welcome");
    assert.deepEqual(welcome.history, []);
    assert.equal(welcome.hasMore, false);
    assert.equal(welcome.lastSeq, 10);
    assert.equal(welcome.resumeFrom, 4);
    const answer = await ana.nextOf("history");
    assert.deepEqual(answer, expected);
    assert.deepEqual(answer.messages.map((m) => m.seq), [5, 6, 10]);
    assert.deepEqual(answer.events?.map((e) => e.seq), [7, 8, 9]);
    assert.equal(answer.hasMore, false);

    // A client that held 1..4 ends where one welcomed afresh does.
    const timeline = new Timeline();
    timeline.welcome(held, 4);
    timeline.welcome(welcome.history, welcome.lastSeq);
    timeline.addNewer(answer.messages, answer.hasMore, answer.events);
    assert.equal(timeline.hasGap, false);
    assert.deepEqual(
      timeline.messages,
      (await store.recent(room, 10)).messages,
    );
    // One answer, nothing else about the log.
    const frames = await framesUntilPong(ana);
    assert.equal(frames.filter((f) => f.type === "history").length, 1);
    assert.equal(frames.filter((f) => f.type === "welcome").length, 1);
  });
});

Deno.test("?after= the head: nothing missed — an empty answer, no store read, no other frame about the log", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "after-head";
    await seed(server, room, 3);
    const reads = countSince(server);
    const ana = await guestSocket(server, open, room, "Ana", 3);
    const welcome = await ana.nextOf("welcome");
    assert.deepEqual(
      [welcome.history, welcome.lastSeq, welcome.resumeFrom],
      [[], 3, 3],
    );
    const answer = await ana.nextOf("history");
    assert.deepEqual(answer, {
      type: "history",
      direction: "newer",
      messages: [],
      events: [],
      hasMore: false,
    });
    assert.equal(reads(), 0, "answered by the welcome");
    const frames = await framesUntilPong(ana);
    assert.deepEqual(
      frames.filter((f) =>
        f.type === "history" || f.type === "message" || f.type === "event"
      ).length,
      1,
    );

    // Live from there: Ben's message reaches Ana.
    const ben = await guestSocket(server, open, room, "Ben");
    await ben.nextOf("welcome");
    ben.send({ type: "message", text: "hello", clientId: "ben-1" });
    const live = await ana.nextOf("message");
    assert.equal(live.message.seq, 4);
  });
});

Deno.test("?after= more than a page behind: the full welcome (the room as it is now), no answer; the client's resume fills the gap", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "after-far";
    const count = MAX_AFTER_GAP + 40;
    await seed(server, room, count);
    const ana = await guestSocket(
      server,
      open,
      room,
      "Ana",
      count - MAX_AFTER_GAP - 1,
    );
    const welcome = await ana.nextOf("welcome");
    assert.equal("resumeFrom" in welcome, false);
    assert.equal(welcome.lastSeq, count);
    assert.equal(welcome.history.at(-1)?.seq, count);
    const frames = await framesUntilPong(ana);
    assert.equal(frames.filter((f) => f.type === "history").length, 0);
    ana.send({ type: "resume", after: count - MAX_AFTER_GAP - 1 });
    const answer = await ana.nextOf("history");
    assert.equal(answer.hasMore, false);
    assert.deepEqual(
      answer.messages.map((m) => m.seq),
      Array.from(
        { length: MAX_AFTER_GAP + 1 },
        (_, i) => count - MAX_AFTER_GAP + i,
      ),
    );
    // Exactly a page behind is still answered from `after`.
    const ben = await guestSocket(
      server,
      open,
      room,
      "Ben",
      count - MAX_AFTER_GAP,
    );
    const benWelcome = await ben.nextOf("welcome");
    assert.deepEqual(
      [benWelcome.history, benWelcome.resumeFrom],
      [[], count - MAX_AFTER_GAP],
    );
    const benAnswer = await ben.nextOf("history");
    assert.equal(benAnswer.messages.length, MAX_AFTER_GAP);
  });
});

Deno.test("?after= past the head (the store was reset): the full welcome, as without it, and no answer", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "after-past";
    await seed(server, room, 3);
    for (const after of [4, Number.MAX_SAFE_INTEGER]) {
      const client = await guestSocket(
        server,
        open,
        room,
        `Ana${after % 10}`,
        after,
      );
      const welcome = await client.nextOf("welcome");
      assert.deepEqual(welcome.history.map((m) => m.seq), [1, 2, 3]);
      assert.equal(welcome.lastSeq, 3);
      assert.equal("resumeFrom" in welcome, false);
      const frames = await framesUntilPong(client);
      assert.equal(frames.filter((f) => f.type === "history").length, 0);
    }
  });
});

Deno.test("?after= while the room is written to: the welcome, the answer and the live frames leave no gap — no resume needed", async () => {
  await withServer({ RATE_LIMIT_BURST: "200" }, async (server, open) => {
    const room = "after-live";
    await seed(server, room, 5);
    const ben = await guestSocket(server, open, room, "Ben");
    await ben.nextOf("welcome");
    const total = 5 + 40;
    // Ben's 40 posts are under way while Ana connects from seq 2.
    for (let i = 6; i <= total; i++) {
      ben.send({ type: "message", text: `b${i}`, clientId: `ben-${i}` });
    }
    const timeline = new Timeline();
    timeline.welcome(
      (await server.services.store.after(room, 0, 2)).messages,
      2,
    );
    const cookie = (await server.guest("Ana")).cookie;
    const ana = await connect(server, room, cookie, 2);
    open.push(ana);
    const resumes: number[] = [];
    let answered = false;
    const onFrame = (frame: ServerFrame) => {
      if (frame.type === "welcome") {
        timeline.welcome(frame.history, frame.lastSeq);
      } else if (frame.type === "message") timeline.add([frame.message]);
      else if (frame.type === "history") {
        answered = true;
        timeline.addNewer(frame.messages, frame.hasMore, frame.events);
      }
      // As RoomClient: no resume of its own before the server's answer.
      if (answered && timeline.hasGap && resumes.length === 0) {
        resumes.push(timeline.contiguous);
        ana.send({ type: "resume", after: timeline.contiguous });
      }
    };
    // Frames that came with the open are queued already; the rest as they come.
    ana.frames.forEach(onFrame);
    ana.socket.addEventListener("message", () => onFrame(ana.frames.at(-1)!));
    await ana.until(
      () => timeline.contiguous === total,
      () => `contiguous ${timeline.contiguous} of ${total}`,
    );
    assert.equal(
      (ana.frames.find((f) => f.type === "welcome") as Welcome).resumeFrom,
      2,
    );
    assert.deepEqual(resumes, [], "nothing was missing after the answer");
    assert.deepEqual(
      timeline.messages.map((m) => m.seq),
      Array.from({ length: total }, (_, i) => i + 1),
    );
  });
});

Deno.test("resumesFromAfter: from `after` when it is in the log and at most MAX_AFTER_GAP behind the head", () => {
  assert.equal(resumesFromAfter(0, 0), true);
  assert.equal(resumesFromAfter(120, 120), true);
  assert.equal(resumesFromAfter(120 - MAX_AFTER_GAP, 120), true);
  assert.equal(resumesFromAfter(120 - MAX_AFTER_GAP - 1, 120), false);
  assert.equal(resumesFromAfter(121, 120), false);
  assert.equal(resumesFromAfter(1, 0), false);
});

Deno.test("sockets of a room opened together with ?after= the head read only the head, one read for all of them; no page", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "after-together";
    const sockets = 12;
    await seed(server, room, 3);
    const cookies = await Promise.all(
      Array.from(
        { length: sockets },
        async (_, i) => (await server.guest(`Storm${i}`)).cookie,
      ),
    );
    // The first head read is held until every socket joined the room's
    // group — and so asked, in the same turn — so the others wait for the
    // next read: two in all, whatever the timing of the upgrades.
    let release!: () => void;
    const reads = countReads(
      server,
      new Promise<void>((resolve) => release = resolve),
    );
    open.push(
      ...await Promise.all(cookies.map((c) => connect(server, room, c, 3))),
    );
    const { layer } = server.services;
    await eventually(
      () => layer.localMembers(room) === sockets,
      () => `${layer.localMembers(room)} of ${sockets} joined`,
    );
    release();
    for (const client of open) {
      const welcome = await client.nextOf("welcome");
      assert.deepEqual(
        [welcome.history, welcome.hasMore, welcome.lastSeq, welcome.resumeFrom],
        [[], false, 3, 3],
      );
      const answer = await client.nextOf("history");
      assert.deepEqual([answer.messages, answer.events], [[], []]);
    }
    assert.deepEqual(reads, { lastSeq: 2 });
  });
});

Deno.test("?after= too far behind or past the head: the same welcome, byte for byte, as without it; at the head, a welcome without history", async () => {
  await withServer(undefined, async (server, open) => {
    const room = "after-bytes";
    const count = MAX_AFTER_GAP + 10;
    await seed(server, room, count);
    const { cookie } = await server.guest("Ana");
    const reads = countReads(server);
    const plain = await connect(server, room, cookie);
    open.push(plain);
    const full = await welcomeText(plain);
    assert.deepEqual(reads, { lastSeq: 1, recent: 1 });
    const parsed = JSON.parse(full);
    assert.equal(parsed.history.length, MAX_AFTER_GAP);
    for (const after of [count - MAX_AFTER_GAP - 1, count + 1]) {
      const socket = await connect(server, room, cookie, after);
      open.push(socket);
      assert.equal(await welcomeText(socket), full, `?after=${after}`);
    }
    // Each: its head read, then the welcome's (head and page).
    assert.deepEqual(reads, { lastSeq: 5, recent: 3 });

    // At the head: the head alone, and the welcome as it always was.
    const atHead = await connect(server, room, cookie, count);
    open.push(atHead);
    assert.equal(
      await welcomeText(atHead),
      JSON.stringify({
        type: "welcome",
        you: parsed.you,
        room,
        history: [],
        hasMore: false,
        lastSeq: count,
        resumeFrom: count,
        rate: parsed.rate,
      }),
    );
    await atHead.nextOf("history");
    assert.deepEqual(reads, { lastSeq: 6, recent: 3 });
  });
});

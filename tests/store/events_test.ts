/**
 * The room log contract (edits, deletes, reactions, replies) on what
 * `createStore` gives: folding, idempotency, authorization, erasure,
 * retention with related events and two writers at once.
 */
import assert from "node:assert/strict";
import { foldEvent, MAX_DISTINCT_REACTIONS } from "../../lib/chat/events.ts";
import type { ChatMessage, ChatUser, EventOp } from "../../lib/chat/types.ts";
import { createStore } from "../../lib/store/stores.ts";
import type {
  EventResult,
  MessageStore,
  Stores,
} from "../../lib/store/types.ts";

const ANA: ChatUser = { id: "u-ana", name: "Ana", kind: "guest" };
const BEN: ChatUser = { id: "u-ben", name: "Ben", kind: "guest" };
const ROOM = "events";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

let counter = 0;
const nextId = () => `e-${++counter}`;

async function post(
  store: MessageStore,
  text: string,
  user = ANA,
  replyTo?: number,
): Promise<ChatMessage> {
  const draft = { room: ROOM, user, text, clientId: nextId(), replyTo };
  return (await store.append(draft)).message;
}

function act(
  store: MessageStore,
  op: EventOp,
  user = ANA,
  clientId = nextId(),
  editWindowMs?: number,
): Promise<EventResult> {
  return store.applyEvent({ room: ROOM, user, clientId, op, editWindowMs });
}

function ok(result: EventResult) {
  assert.ok(result.ok, `refused: ${JSON.stringify(result)}`);
  return result;
}

/** Two stores on one KV file (as two processes would have), in a fresh folder. */
async function twoWriters(): Promise<
  { dir: string; one: Stores; two: Stores }
> {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-log-" });
  const open = () =>
    createStore({
      store: "kv",
      kvPath: `${dir}/log.kv`,
      historyRetention: 10_000,
    });
  const [one, two] = await Promise.all([open(), open()]);
  return { dir, one, two };
}

/** A test on a fresh database: KV in memory and KV in a file. */
/** Retention by count alone (`HISTORY_MIN_AGE_DAYS=0`), or by count and age with `now` as the clock. */
interface OpenOptions {
  minAgeDays?: number;
  now?: () => number;
}

function t(
  name: string,
  body: (
    open: (retention?: number, options?: OpenOptions) => Promise<Stores>,
  ) => Promise<void>,
): void {
  for (const kind of [":memory:", "file"]) {
    Deno.test(`kv ${kind} log: ${name}`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "roomcast-log-" });
      const opened: Stores[] = [];
      try {
        const kvPath = kind === "file" ? `${dir}/log.kv` : ":memory:";
        await body(async (retention = 10_000, options = {}) => {
          const stores = await createStore({
            store: "kv",
            kvPath,
            historyRetention: retention,
            historyMinAgeDays: options.minAgeDays,
          }, options.now);
          opened.push(stores);
          return stores;
        });
      } finally {
        for (const s of opened) await s.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

t(
  "an edit is folded into its target and appended with the next seq",
  async (open) => {
    const { messages: store } = await open();
    const m = await post(store, "helo");
    const r = ok(
      await act(store, { kind: "edit", target: m.seq, text: "hello" }),
    );
    assert.equal(r.event.seq, 2);
    assert.equal(r.event.kind, "edit");
    assert.equal(r.duplicate, false);
    const got = await store.get(ROOM, m.seq);
    assert.equal(got?.text, "hello");
    assert.equal(got?.edited, r.event.ts);
    assert.equal(got?.rev, 2);
    assert.equal(await store.lastSeq(ROOM), 2);
    // History pages carry the folded message; the log carries both entries.
    assert.equal((await store.recent(ROOM, 10)).messages[0].text, "hello");
    const log = await store.since(ROOM, 0, 10);
    assert.deepEqual(log.messages.map((x) => x.seq), [1]);
    assert.deepEqual(log.events.map((e) => [e.seq, e.kind]), [[2, "edit"]]);
    assert.equal(log.events[0].kind === "edit" && log.events[0].text, "hello");
  },
);

t("a retried event (same clientId) is applied once", async (open) => {
  const { messages: store } = await open();
  const m = await post(store, "hi");
  const op: EventOp = { kind: "react", target: m.seq, emoji: "👍", on: true };
  const first = ok(await act(store, op, BEN, "same"));
  const again = ok(await act(store, op, BEN, "same"));
  assert.equal(again.duplicate, true);
  assert.equal(again.event.seq, first.event.seq);
  assert.equal(await store.lastSeq(ROOM), 2);
  assert.deepEqual((await store.get(ROOM, m.seq))?.reactions, [
    { emoji: "👍", users: [{ id: BEN.id, name: BEN.name }] },
  ]);
});

t(
  "reactions toggle per user, keep order and are bounded per message",
  async (open) => {
    const { messages: store } = await open();
    const m = await post(store, "react to me");
    const react = (emoji: string, on: boolean, user: ChatUser) =>
      act(store, { kind: "react", target: m.seq, emoji, on }, user);
    ok(await react("👍", true, BEN));
    ok(await react("👍", true, ANA));
    ok(await react("🎉", true, ANA));
    ok(await react("👍", true, ANA)); // already on: no change
    ok(await react("👍", false, BEN));
    ok(await react("🎉", false, BEN)); // was never on
    assert.deepEqual((await store.get(ROOM, m.seq))?.reactions, [
      { emoji: "👍", users: [{ id: ANA.id, name: ANA.name }] },
      { emoji: "🎉", users: [{ id: ANA.id, name: ANA.name }] },
    ]);
    ok(await react("🎉", false, ANA));
    ok(await react("👍", false, ANA));
    assert.equal((await store.get(ROOM, m.seq))?.reactions, undefined);

    const emoji = [..."😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗"];
    for (const e of emoji.slice(0, MAX_DISTINCT_REACTIONS)) {
      ok(
        await react(e, true, BEN),
      );
    }
    const refused = await react(emoji[MAX_DISTINCT_REACTIONS], true, BEN);
    assert.equal(!refused.ok && refused.code, "too_many_reactions");
    // One more person on an existing emoji is fine.
    ok(await react(emoji[0], true, ANA));
  },
);

t("only the author edits (within the window) and deletes", async (open) => {
  const { messages: store } = await open();
  const m = await post(store, "mine");
  const last = await store.lastSeq(ROOM);
  const edit = await act(
    store,
    { kind: "edit", target: m.seq, text: "x" },
    BEN,
  );
  assert.equal(!edit.ok && edit.code, "forbidden");
  const del = await act(
    store,
    { kind: "delete", target: m.seq, by: "author" },
    BEN,
  );
  assert.equal(!del.ok && del.code, "forbidden");
  const mod = await act(store, {
    kind: "delete",
    target: m.seq,
    by: "moderator",
  }, ANA);
  assert.equal(!mod.ok && mod.code, "forbidden", "no moderators yet");
  const late = await act(
    store,
    { kind: "edit", target: m.seq, text: "late" },
    ANA,
    nextId(),
    -1,
  );
  assert.equal(!late.ok && late.code, "edit_window_passed");
  const missing = await act(store, { kind: "edit", target: 99, text: "x" });
  assert.equal(!missing.ok && missing.code, "not_found");
  assert.equal(await store.lastSeq(ROOM), last, "nothing refused is stored");
  assert.equal((await store.get(ROOM, m.seq))?.text, "mine");
});

t(
  "a delete leaves a tombstone; later events on it are refused",
  async (open) => {
    const { messages: store } = await open();
    const m = await post(store, "oops");
    ok(
      await act(
        store,
        { kind: "react", target: m.seq, emoji: "😮", on: true },
        BEN,
      ),
    );
    const r = ok(
      await act(store, { kind: "delete", target: m.seq, by: "author" }),
    );
    const got = await store.get(ROOM, m.seq);
    assert.equal(got?.text, "");
    assert.deepEqual(got?.deleted, { by: "author", ts: r.event.ts });
    assert.equal(got?.reactions, undefined);
    for (
      const op of [
        { kind: "edit", target: m.seq, text: "again" },
        { kind: "react", target: m.seq, emoji: "👍", on: true },
        { kind: "delete", target: m.seq, by: "author" },
      ] satisfies EventOp[]
    ) {
      const refused = await act(store, op);
      assert.equal(!refused.ok && refused.code, "message_deleted");
    }
  },
);

Deno.test("kv file log: a deleted message's text (and every edit of it) is gone from the database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-log-" });
  const path = `${dir}/log.kv`;
  const stores = await createStore({
    store: "kv",
    kvPath: path,
    historyRetention: 100,
  });
  try {
    const store = stores.messages;
    const m = await post(store, "secret one");
    ok(await act(store, { kind: "edit", target: m.seq, text: "secret two" }));
    const reply = await post(store, "what?", BEN, m.seq);
    assert.deepEqual(reply.quote, {
      state: "shown",
      user: { id: ANA.id, name: ANA.name },
      snippet: "secret two",
    });
    ok(await act(store, { kind: "delete", target: m.seq, by: "author" }));
    const kv = await Deno.openKv(path);
    try {
      for await (const entry of kv.list({ prefix: [] })) {
        const dump = JSON.stringify(entry.value);
        assert.ok(
          !dump.includes("secret"),
          `found in ${JSON.stringify(entry.key)}`,
        );
      }
    } finally {
      kv.close();
    }
    // Every read API: pages, the log, one message.
    const reads = JSON.stringify([
      await store.recent(ROOM, 10),
      await store.after(ROOM, 0, 10),
      await store.before(ROOM, 100, 10),
      await store.since(ROOM, 0, 10),
      await store.get(ROOM, m.seq),
    ]);
    assert.ok(!reads.includes("secret"));
    assert.deepEqual((await store.get(ROOM, reply.seq))?.quote, {
      state: "deleted",
    });
  } finally {
    await stores.close();
    await Deno.remove(dir, { recursive: true });
  }
});

t(
  "a reply quotes its parent's author and first line, as the parent is now",
  async (open) => {
    const { messages: store } = await open();
    const parent = await post(store, "first line\nsecond line");
    const reply = await post(store, "agreed", BEN, parent.seq);
    assert.equal(reply.replyTo, parent.seq);
    assert.deepEqual(reply.quote, {
      state: "shown",
      user: { id: ANA.id, name: ANA.name },
      snippet: "first line",
    });
    ok(
      await act(store, {
        kind: "edit",
        target: parent.seq,
        text: "better line",
      }),
    );
    const page = await store.recent(ROOM, 10);
    assert.equal(
      page.messages[1].quote?.state === "shown" &&
        page.messages[1].quote.snippet,
      "better line",
    );
  },
);

t(
  "retention by count alone counts events; a message leaves with the events before the boundary",
  async (open) => {
    const { messages: store } = await open(4, { minAgeDays: 0 });
    const m = await post(store, "old"); // 1
    ok(
      await act(
        store,
        { kind: "react", target: m.seq, emoji: "👍", on: true },
        BEN,
      ),
    ); // 2
    ok(await act(store, { kind: "edit", target: m.seq, text: "older" })); // 3
    for (let i = 0; i < 4; i++) await post(store, `new ${i}`); // 4..7
    const log = await store.since(ROOM, 0, 100);
    assert.deepEqual(log.messages.map((x) => x.seq), [4, 5, 6, 7]);
    assert.deepEqual(log.events, [], "the old message's events went with it");
    assert.equal(await store.get(ROOM, m.seq), null);
  },
);

t("the retention sweep deletes a message's events with it", async (open) => {
  const DAY = 24 * 3600 * 1000;
  const start = Date.UTC(2030, 0, 1);
  let clock = start;
  const { messages: store } = await open(4, { now: () => clock });
  const m = await post(store, "old"); // 1
  ok(
    await act(
      store,
      { kind: "react", target: m.seq, emoji: "👍", on: true },
      BEN,
    ),
  ); // 2
  ok(await act(store, { kind: "edit", target: m.seq, text: "older" })); // 3
  const kept = await post(store, "old too"); // 4
  ok(
    await act(
      store,
      { kind: "react", target: kept.seq, emoji: "🎉", on: true },
      BEN,
    ),
  ); // 5
  clock = start + 8 * DAY;
  for (let i = 0; i < 4; i++) await post(store, `new ${i}`); // 6..9
  // Seqs 1–5 are beyond the last 4 and older than 7 days: messages 1 and 4 go, with events 2, 3 and 5.
  assert.equal(await store.prune(), 2);
  const log = await store.since(ROOM, 0, 100);
  assert.deepEqual(log.messages.map((x) => x.seq), [6, 7, 8, 9]);
  assert.deepEqual(
    log.events.map((e) => e.seq),
    [],
    "their events went with them",
  );
  // A message the sweep removed stays gone, though this store wrote it last:
  // an event on it is refused and brings nothing back.
  const late = await act(
    store,
    { kind: "react", target: kept.seq, emoji: "👀", on: true },
    BEN,
  );
  assert.equal(!late.ok && late.code, "not_found");
  assert.equal(await store.get(ROOM, kept.seq), null);
  // An event on a young message stays through a pass.
  const young = await post(store, "young"); // 10
  ok(
    await act(store, {
      kind: "react",
      target: young.seq,
      emoji: "👍",
      on: true,
    }, BEN),
  ); // 11
  assert.equal(await store.prune(), 0);
  assert.deepEqual(
    (await store.since(ROOM, 0, 100)).events.map((e) => e.seq),
    [11],
  );
});

t("since pages the log by seq, messages and events merged", async (open) => {
  const { messages: store } = await open();
  const a = await post(store, "a"); // 1
  ok(
    await act(
      store,
      { kind: "react", target: a.seq, emoji: "👍", on: true },
      BEN,
    ),
  ); // 2
  await post(store, "b"); // 3
  ok(await act(store, { kind: "edit", target: a.seq, text: "a2" })); // 4
  await post(store, "c"); // 5
  const first = await store.since(ROOM, 0, 3);
  assert.equal(first.hasMore, true);
  assert.deepEqual(first.messages.map((x) => x.seq), [1, 3]);
  assert.deepEqual(first.events.map((x) => x.seq), [2]);
  const second = await store.since(ROOM, 3, 3);
  assert.equal(second.hasMore, false);
  assert.deepEqual(second.messages.map((x) => x.seq), [5]);
  assert.deepEqual(second.events.map((x) => x.seq), [4]);
});

Deno.test("kv file log: two writers reacting and editing at once stay consistent", async () => {
  const { dir, one, two } = await twoWriters();
  try {
    const m = await post(one.messages, "popular");
    const people = Array.from({ length: 12 }, (_, i): ChatUser => ({
      id: `u${i}`,
      name: `P${i}`,
      kind: "guest",
    }));
    await Promise.all(
      people.flatMap((user, i) => {
        const store = i % 2 ? one.messages : two.messages;
        return [
          act(
            store,
            { kind: "react", target: m.seq, emoji: "👍", on: true },
            user,
          ),
          act(store, {
            kind: "react",
            target: m.seq,
            emoji: "🎉",
            on: i % 3 === 0,
          }, user),
          post(store, `chatter ${i}`, user),
        ];
      }).concat([
        act(one.messages, { kind: "edit", target: m.seq, text: "edit one" }),
        act(two.messages, { kind: "edit", target: m.seq, text: "edit two" }),
      ]),
    );
    const log = await one.messages.since(ROOM, 0, 1_000);
    const all = [...log.messages, ...log.events].map((x) => x.seq).sort((
      a,
      b,
    ) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: all.length }, (_, i) => i + 1),
      "gapless",
    );
    assert.equal(all.length, 1 + 12 * 3 + 2);
    // Folding the log's events over the message as first stored gives what is stored now.
    let folded: ChatMessage = { ...m };
    for (const e of log.events) {
      if (e.target === m.seq) folded = foldEvent(folded, e);
    }
    const stored = await two.messages.get(ROOM, m.seq);
    assert.deepEqual(folded, stored);
    assert.equal(
      stored?.reactions?.find((r) => r.emoji === "👍")?.users.length,
      12,
    );
    assert.equal(
      stored?.reactions?.find((r) => r.emoji === "🎉")?.users.length,
      4,
    );
  } finally {
    await one.close();
    await two.close();
    await Deno.remove(dir, { recursive: true });
  }
});

t(
  "a room's writes take their seq in the order they were made, messages and events alike",
  async (open) => {
    const { messages: store } = await open();
    const first = await post(store, "react to me");
    // Not awaited one by one: they wait for the same group commits.
    const writes: Promise<number>[] = [];
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 1) {
        writes.push(
          act(store, {
            kind: "react",
            target: first.seq,
            emoji: "👍",
            on: i % 2 === 1,
          }).then((r) => ok(r).event.seq),
        );
      } else {
        writes.push(post(store, `m${i}`).then((m) => m.seq));
      }
    }
    assert.deepEqual(await Promise.all(writes), range(2, 31));
    const log = await store.since(ROOM, 0, 100);
    assert.equal(log.messages.length + log.events.length, 31);
  },
);

t(
  "events in one group commit fold in order: two reactors, an edit and a refused edit on one message",
  async (open) => {
    const { messages: store } = await open();
    const m = await post(store, "helo");
    const [ana, ben, edit, refused, once, again] = await Promise.all([
      act(store, { kind: "react", target: m.seq, emoji: "🎉", on: true }),
      act(store, { kind: "react", target: m.seq, emoji: "🎉", on: true }, BEN),
      act(store, { kind: "edit", target: m.seq, text: "hello" }),
      act(store, { kind: "edit", target: m.seq, text: "mine" }, BEN),
      act(store, { kind: "edit", target: m.seq, text: "again" }, ANA, "twice"),
      act(store, { kind: "edit", target: m.seq, text: "later" }, ANA, "twice"),
    ]);
    assert.deepEqual(
      [ok(ana).event.seq, ok(ben).event.seq, ok(edit).event.seq],
      [2, 3, 4],
    );
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.code, "forbidden");
    // A retry with the same clientId in the same commit is the first one again, whatever it asks.
    assert.equal(ok(once).event.seq, 5);
    assert.equal(ok(again).duplicate, true);
    assert.equal(ok(again).event.seq, 5);
    const retried = ok(again).event;
    assert.equal(retried.kind === "edit" && retried.text, "again");
    const got = await store.get(ROOM, m.seq);
    assert.equal(got?.text, "again");
    assert.deepEqual(got?.reactions, [{
      emoji: "🎉",
      users: [{ id: ANA.id, name: ANA.name }, { id: BEN.id, name: BEN.name }],
    }]);
    assert.equal(await store.lastSeq(ROOM), 5);
  },
);

t(
  "retention by count alone: an event that pushes its own target out of the window does not bring it back",
  async (open) => {
    const { messages: store } = await open(3, { minAgeDays: 0 });
    const m = await post(store, "oldest");
    await post(store, "two");
    await post(store, "three");
    // seq 4 leaves a window of 3: its own target, seq 1, goes in the same write.
    const [reacted, after] = await Promise.all([
      act(store, { kind: "react", target: m.seq, emoji: "👍", on: true }),
      act(store, { kind: "react", target: m.seq, emoji: "👀", on: true }, BEN),
    ]);
    assert.equal(ok(reacted).event.seq, 4);
    assert.equal(!after.ok && after.code, "not_found");
    assert.equal(await store.get(ROOM, m.seq), null);
    const log = await store.since(ROOM, 0, 10);
    assert.deepEqual(log.messages.map((x) => x.seq), [2, 3]);
    assert.deepEqual(log.events.map((e) => e.seq), [4]);
  },
);

t(
  "a retried delete (same clientId) gets its stored event again, not a refusal from the message it deleted",
  async (open) => {
    const { messages: store } = await open();
    const m = await post(store, "oops");
    const op: EventOp = { kind: "delete", target: m.seq, by: "author" };
    const first = ok(await act(store, op, ANA, "del-once"));
    // The client never saw the answer and sends the same frame again.
    const again = ok(await act(store, op, ANA, "del-once"));
    assert.equal(again.duplicate, true);
    assert.equal(again.event.seq, first.event.seq);
    assert.equal(await store.lastSeq(ROOM), first.event.seq);
  },
);

Deno.test("kv file log: a refusal is not decided on a target another writer changed since this store cached it", async () => {
  const { dir, one, two } = await twoWriters();
  try {
    const m = await post(one.messages, "react to me");
    const emoji = [..."😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗"];
    const react = (store: MessageStore, e: string, on: boolean) =>
      act(store, { kind: "react", target: m.seq, emoji: e, on }, BEN);
    // The first store folds the message up to its limit of distinct emoji and remembers it so.
    for (const e of emoji.slice(0, MAX_DISTINCT_REACTIONS)) {
      ok(await react(one.messages, e, true));
    }
    // The other writer takes one off; then the first writes the room again,
    // so its head is current while the message it remembers is not.
    ok(await react(two.messages, emoji[0], false));
    await post(one.messages, "chatter");
    // The message has room for one more emoji.
    ok(await react(one.messages, emoji[MAX_DISTINCT_REACTIONS], true));
    assert.equal(
      (await two.messages.get(ROOM, m.seq))?.reactions?.length,
      MAX_DISTINCT_REACTIONS,
    );
  } finally {
    await one.close();
    await two.close();
    await Deno.remove(dir, { recursive: true });
  }
});

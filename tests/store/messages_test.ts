/**
 * The MessageStore contract, run against what `createStore` gives for each
 * backend: KV on `:memory:` and on a file (where several instances, and
 * several processes, share one database).
 */
import assert from "node:assert/strict";
import {
  ACTIVITY_BUCKET_MS,
  ACTIVITY_PREFIX,
  activityKey,
} from "../../lib/store/activity.ts";
import {
  groupCommitSize,
  KvMessageStore,
  MAX_GROUP_COMMIT,
} from "../../lib/store/messages.ts";
import { REMOTE_MAX_CHECKS } from "../../lib/store/kv.ts";
import { createStore } from "../../lib/store/stores.ts";
import type {
  AppendResult,
  MessageDraft,
  MessageStore,
  Stores,
} from "../../lib/store/types.ts";
import type { ChatMessage, ChatUser } from "../../lib/chat/types.ts";
import { MAX_REACTIONS_PER_MESSAGE } from "../../lib/chat/events.ts";

const ANA: ChatUser = { id: "u-ana", name: "Ana", kind: "guest" };
const BEN: ChatUser = {
  id: "u-ben",
  name: "Ben",
  kind: "google",
  picture: "https://example.com/ben.png",
};

const FIXTURE = new URL("./_fixtures/append_many.ts", import.meta.url)
  .pathname;
const PROJECT_ROOT = new URL("../../", import.meta.url).pathname;

function draft(room: string, n: number | string, user = ANA): MessageDraft {
  return { room, user, text: `message ${n}`, clientId: `c-${n}` };
}

/** Appends `count` messages one after the other; returns their seqs. */
async function appendSeq(
  store: MessageStore,
  room: string,
  count: number,
  prefix = "m",
): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 1; i <= count; i++) {
    seqs.push((await store.append(draft(room, `${prefix}${i}`))).message.seq);
  }
  return seqs;
}

const seqsOf = (messages: ChatMessage[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every message of `room`, through the public API. */
async function all(store: MessageStore, room: string): Promise<ChatMessage[]> {
  const page = await store.after(room, 0, 100_000);
  assert.equal(page.hasMore, false);
  return page.messages;
}

/** Asserts seqs 1..n, each once, and ts never going backwards with seq. */
function assertGapless(messages: ChatMessage[], n: number): void {
  assert.deepEqual(seqsOf(messages), range(1, n));
  for (let i = 1; i < messages.length; i++) {
    assert.ok(
      messages[i].ts >= messages[i - 1].ts,
      `ts went backwards at seq ${messages[i].seq}`,
    );
  }
  const clientIds = new Set(messages.map((m) => m.clientId));
  assert.equal(clientIds.size, n, "a clientId stored twice");
  const ids = new Set(messages.map((m) => m.id));
  assert.equal(ids.size, n, "a message id reused");
}

/** Resolves at the first millisecond after now, so timestamps differ. */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  // The clock has no event to wait for: poll it, briefly.
  while (Date.now() === start) await new Promise((r) => setTimeout(r, 1));
}

/** The configuration's default for `HISTORY_RETENTION`. */
const DEFAULT_RETENTION = 10_000;

/** How a test opens a store: retention by count and age, and the clock. */
interface OpenOptions {
  retention?: number;
  /** `HISTORY_MIN_AGE_DAYS` (the configuration's default, 7, when unset). */
  minAgeDays?: number;
  now?: () => number;
}

/** The stores `createStore` opens on the KV at `kvPath`. */
function openStores(
  kvPath: string,
  options: OpenOptions = {},
): Promise<Stores> {
  return createStore({
    store: "kv",
    kvPath,
    historyRetention: options.retention ?? DEFAULT_RETENTION,
    historyMinAgeDays: options.minAgeDays,
  }, options.now);
}

interface Backend {
  kind: string;
  /**
   * Opens the stores; on a backend that `shares`, every bundle opened in one
   * test is another instance (another connection) on the same database.
   */
  setup(): Promise<{
    open(options?: OpenOptions): Promise<Stores>;
    path?: string;
    cleanup(): Promise<void>;
  }>;
  shares: boolean;
}

const backends: Backend[] = [
  {
    kind: "kv :memory:",
    shares: false,
    setup() {
      return Promise.resolve({
        open: (options) => openStores(":memory:", options),
        cleanup: () => Promise.resolve(),
      });
    },
  },
  {
    kind: "kv file",
    shares: true,
    async setup() {
      const dir = await Deno.makeTempDir({ prefix: "roomcast-store-" });
      const path = `${dir}/messages.kv`;
      return {
        path,
        open: (options) => openStores(path, options),
        cleanup: () => Deno.remove(dir, { recursive: true }),
      };
    },
  },
];

function storeContract(backend: Backend): void {
  /** A test with a fresh database; every store it opens is closed after. */
  const t = (
    name: string,
    body: (
      open: (options?: OpenOptions) => Promise<MessageStore>,
      path: string | undefined,
    ) => Promise<void>,
  ) =>
    Deno.test(`${backend.kind} store: ${name}`, async () => {
      const db = await backend.setup();
      const opened: Stores[] = [];
      try {
        await body(async (options) => {
          const stores = await db.open(options);
          opened.push(stores);
          return stores.messages;
        }, db.path);
      } finally {
        for (const stores of opened) await stores.close();
        await db.cleanup();
      }
    });

  t("append stores the message with the room's next seq", async (open) => {
    const store = await open();
    assert.equal(await store.lastSeq("general"), 0);
    const before = Date.now();
    const first = await store.append({
      room: "general",
      user: BEN,
      text: "hello",
      clientId: "c-1",
    });
    assert.equal(first.duplicate, false);
    const m = first.message;
    assert.equal(m.seq, 1);
    assert.equal(m.room, "general");
    assert.deepEqual(m.user, BEN);
    assert.equal(m.text, "hello");
    assert.equal(m.clientId, "c-1");
    assert.ok(m.id.length > 0);
    assert.ok(m.ts >= before && m.ts <= Date.now(), String(m.ts));
    assert.equal((await store.append(draft("general", 2))).message.seq, 2);
    assert.equal(await store.lastSeq("general"), 2);
    // What is read back is what was stored.
    assert.deepEqual((await store.recent("general", 1)).messages, [
      (await store.after("general", 1, 1)).messages[0],
    ]);
    assert.deepEqual((await store.after("general", 0, 1)).messages[0], m);
    assert.equal(await store.ping(), true);
  });

  t("each room has its own sequence", async (open) => {
    const store = await open();
    for (const room of ["a", "ab", "a-b", "b"]) {
      assert.deepEqual(await appendSeq(store, room, 3, room), [1, 2, 3]);
    }
    assert.deepEqual(
      (await all(store, "a")).map((m) => m.text),
      ["message a1", "message a2", "message a3"],
    );
    assert.equal(await store.lastSeq("ab"), 3);
    assert.equal(await store.lastSeq("nope"), 0);
  });

  t(
    backend.shares
      ? "seq is gapless under 200 concurrent appends from two instances on one database"
      : "seq is gapless under 200 concurrent appends",
    async (open) => {
      const stores = backend.shares
        ? [await open(), await open()]
        : [await open()];
      const results: AppendResult[] = await Promise.all(
        range(1, 200).map((i) =>
          stores[i % stores.length].append(
            draft("busy", i, i % 2 ? ANA : BEN),
          )
        ),
      );
      assert.ok(results.every((r) => !r.duplicate));
      assert.deepEqual(
        results.map((r) => r.message.seq).sort((a, b) => a - b),
        range(1, 200),
      );
      // Each instance's own appends got increasing seqs, in call order.
      for (let s = 0; s < stores.length; s++) {
        const mine = results.filter((_, i) => (i + 1) % stores.length === s);
        const seqs = mine.map((r) => r.message.seq);
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      }
      for (const store of stores) {
        assertGapless(await all(store, "busy"), 200);
        assert.equal(await store.lastSeq("busy"), 200);
      }
    },
  );

  t(
    "the same clientId twice is stored once: duplicate, same seq",
    async (open) => {
      const store = await open();
      const first = await store.append(draft("room", "x"));
      await store.append(draft("room", "y"));
      const again = await store.append({
        ...draft("room", "x"),
        text: "a retry, maybe edited",
      });
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.message.seq, first.message.seq);
      assert.deepEqual(again.message, first.message);
      assert.deepEqual((await all(store, "room")).map((m) => m.clientId), [
        "c-x",
        "c-y",
      ]);
      assert.equal(await store.lastSeq("room"), 2);
      // The same clientId in another room is another message.
      const elsewhere = await store.append(draft("other", "x"));
      assert.equal(elsewhere.duplicate, false);
      assert.equal(elsewhere.message.seq, 1);
    },
  );

  t(
    "a burst across 150 rooms and of long texts all commits (group commits stay within KV's limits)",
    async (open) => {
      const store = await open();
      const long = "é".repeat(4_000);
      const results = await Promise.all([
        ...range(1, 150).map((i) => store.append(draft(`room-${i}`, i))),
        ...range(1, 40).map((i) =>
          store.append({ ...draft("long", `l${i}`), text: long })
        ),
      ]);
      assert.ok(results.slice(0, 150).every((r) => r.message.seq === 1));
      assert.deepEqual(
        results.slice(150).map((r) => r.message.seq),
        range(1, 40),
      );
      assert.equal(await store.lastSeq("long"), 40);
    },
  );

  t("concurrent retries of one clientId store it once", async (open) => {
    const stores = backend.shares
      ? [await open(), await open()]
      : [await open()];
    const results = await Promise.all(
      range(1, 10).map((i) =>
        stores[i % stores.length].append(draft("retry", "same"))
      ),
    );
    assert.equal(results.filter((r) => !r.duplicate).length, 1);
    assert.ok(results.every((r) => r.message.seq === 1));
    assert.ok(results.every((r) => r.message.id === results[0].message.id));
    assert.equal((await all(stores[0], "retry")).length, 1);
    assert.equal(await stores[0].lastSeq("retry"), 1);
  });

  t(
    "recent, before and after page in ascending order with hasMore",
    async (open) => {
      const store = await open();
      await appendSeq(store, "p", 10);
      const page = async (
        p: Promise<{ messages: ChatMessage[]; hasMore: boolean }>,
      ) => {
        const { messages, hasMore } = await p;
        return { seqs: seqsOf(messages), hasMore };
      };

      assert.deepEqual(await page(store.recent("p", 3)), {
        seqs: [8, 9, 10],
        hasMore: true,
      });
      assert.deepEqual(await page(store.recent("p", 9)), {
        seqs: range(2, 10),
        hasMore: true,
      });
      assert.deepEqual(await page(store.recent("p", 10)), {
        seqs: range(1, 10),
        hasMore: false,
      });
      assert.deepEqual(await page(store.recent("p", 50)), {
        seqs: range(1, 10),
        hasMore: false,
      });

      assert.deepEqual(await page(store.before("p", 8, 3)), {
        seqs: [5, 6, 7],
        hasMore: true,
      });
      assert.deepEqual(await page(store.before("p", 4, 3)), {
        seqs: [1, 2, 3],
        hasMore: false,
      });
      assert.deepEqual(await page(store.before("p", 3, 5)), {
        seqs: [1, 2],
        hasMore: false,
      });
      assert.deepEqual(await page(store.before("p", 1, 5)), {
        seqs: [],
        hasMore: false,
      });
      assert.deepEqual(await page(store.before("p", 1_000, 2)), {
        seqs: [9, 10],
        hasMore: true,
      });

      assert.deepEqual(await page(store.after("p", 0, 4)), {
        seqs: [1, 2, 3, 4],
        hasMore: true,
      });
      assert.deepEqual(await page(store.after("p", 4, 3)), {
        seqs: [5, 6, 7],
        hasMore: true,
      });
      assert.deepEqual(await page(store.after("p", 7, 3)), {
        seqs: [8, 9, 10],
        hasMore: false,
      });
      assert.deepEqual(await page(store.after("p", 8, 5)), {
        seqs: [9, 10],
        hasMore: false,
      });
      assert.deepEqual(await page(store.after("p", 10, 5)), {
        seqs: [],
        hasMore: false,
      });

      // Paging backwards from recent() visits every message exactly once.
      const seen: number[] = [];
      let cursor = await store.recent("p", 4);
      seen.unshift(...seqsOf(cursor.messages));
      while (cursor.hasMore) {
        cursor = await store.before("p", cursor.messages[0].seq, 4);
        seen.unshift(...seqsOf(cursor.messages));
      }
      assert.deepEqual(seen, range(1, 10));
    },
  );

  t("an empty room has no messages and lastSeq 0", async (open) => {
    const store = await open();
    await appendSeq(store, "busy", 2);
    for (
      const p of [
        store.recent("empty", 50),
        store.before("empty", 10, 50),
        store.after("empty", 0, 50),
      ]
    ) {
      assert.deepEqual(await p, { messages: [], hasMore: false });
    }
    assert.equal(await store.lastSeq("empty"), 0);
  });

  t(
    "retention by count alone (minimum age 0) keeps the last N messages and seq keeps counting",
    async (open) => {
      const store = await open({ retention: 5, minAgeDays: 0 });
      assert.deepEqual(await appendSeq(store, "r", 12), range(1, 12));
      assert.deepEqual(
        seqsOf((await store.recent("r", 100)).messages),
        range(8, 12),
      );
      assert.equal((await store.recent("r", 100)).hasMore, false);
      const after = await store.after("r", 0, 100);
      assert.deepEqual(seqsOf(after.messages), range(8, 12));
      assert.equal(after.hasMore, false);
      assert.deepEqual(await store.before("r", 8, 10), {
        messages: [],
        hasMore: false,
      });
      assert.equal(await store.lastSeq("r"), 12);
      // Retention is per room.
      await appendSeq(store, "small", 3);
      assert.deepEqual(seqsOf(await all(store, "small")), [1, 2, 3]);
      assert.deepEqual(seqsOf(await all(store, "r")), range(8, 12));
    },
  );

  t("rooms() lists rooms by most recent activity", async (open) => {
    const store = await open();
    assert.deepEqual(await store.rooms(10), []);
    for (const room of ["gamma", "alpha", "beta"]) {
      await nextMillisecond();
      await store.append(draft(room, `${room}-1`));
    }
    await nextMillisecond();
    await store.append(draft("gamma", "gamma-2"));

    const rooms = await store.rooms(10);
    assert.deepEqual(rooms.map((r) => r.room), ["gamma", "beta", "alpha"]);
    assert.deepEqual(rooms.map((r) => r.lastSeq), [2, 1, 1]);
    const gamma = (await store.recent("gamma", 1)).messages[0];
    assert.equal(rooms[0].lastTs, gamma.ts);
    assert.ok(
      rooms[0].lastTs > rooms[1].lastTs && rooms[1].lastTs > rooms[2].lastTs,
    );
    assert.deepEqual((await store.rooms(2)).map((r) => r.room), [
      "gamma",
      "beta",
    ]);
  });

  t(
    "rooms() lists the newest active of 1,020 rooms, with their right lastSeq (an index, not a scan)",
    async (open) => {
      // Every message one tick later: the expected order is the call order.
      let tick = Date.UTC(2030, 0, 1);
      const store = await open({ now: () => ++tick });
      await Promise.all(
        range(1, 400).map((i) => store.append(draft("general", i))),
      );
      // Rooms named to sort before "general", as the ones that hid it did.
      const names = range(0, 1_019).map((i) =>
        `a${String(i).padStart(4, "0")}`
      );
      await Promise.all(names.map((room) => store.append(draft(room, room))));

      assert.deepEqual(
        (await store.rooms(3)).map((r) => [r.room, r.lastSeq]),
        [["a1019", 1], ["a1018", 1], ["a1017", 1]],
      );
      const last = await store.append(draft("general", "news"));
      assert.deepEqual(await store.rooms(2), [
        { room: "general", lastSeq: 401, lastTs: last.message.ts },
        { room: "a1019", lastSeq: 1, lastTs: last.message.ts - 1 },
      ]);
      const every = await store.rooms(2_000);
      assert.equal(every.length, 1_021);
      assert.equal(new Set(every.map((r) => r.room)).size, 1_021);
      assert.deepEqual(every.map((r) => r.room), [
        "general",
        ...names.toReversed(),
      ]);
      assert.deepEqual(
        await store.summaries(["a0005", "nope", "general"]),
        [
          { room: "a0005", lastSeq: 1, lastTs: every.at(-6)!.lastTs },
          { room: "general", lastSeq: 401, lastTs: last.message.ts },
        ],
      );
    },
  );

  t(
    "rooms() orders rooms by their last message, also within one second of the index",
    async (open) => {
      // 1 ms per message from a whole second: 50 rooms in one second.
      let tick = Date.UTC(2030, 0, 1);
      const store = await open({ now: () => tick++ });
      const names = range(0, 49).map((i) => `r${String(i).padStart(2, "0")}`);
      // The newest is the first by name: the index's order within a second is the name's.
      for (const room of names.toReversed()) {
        await store.append(draft(room, room));
      }
      assert.deepEqual((await store.rooms(3)).map((r) => r.room), [
        "r00",
        "r01",
        "r02",
      ]);
      // A message in the next second moves a room ahead of all of them.
      tick += 1_000;
      await store.append(draft("r49", "again"));
      assert.deepEqual(
        (await store.rooms(3)).map((r) => [r.room, r.lastSeq]),
        [["r49", 2], ["r00", 1], ["r01", 1]],
      );
    },
  );

  if (backend.shares) {
    t(
      "two instances appending to the same rooms keep one index entry per room, at its head",
      async (open) => {
        const [a, b] = [await open(), await open()];
        const rooms = range(1, 30).map((i) => `busy-${i}`);
        await Promise.all(
          range(1, 600).map((i) =>
            (i % 2 ? a : b).append(draft(rooms[i % rooms.length], i))
          ),
        );
        const listed = await a.rooms(100);
        assert.equal(listed.length, rooms.length);
        for (const summary of listed) {
          const newest = (await b.recent(summary.room, 1)).messages[0];
          assert.equal(summary.lastSeq, 20, summary.room);
          assert.equal(summary.lastTs, newest.ts, summary.room);
        }
        assert.deepEqual(await b.summaries([listed[0].room]), [listed[0]]);
      },
    );
  }

  t(
    "retention keeps a message within the minimum age past the count; one past both is gone",
    async (open) => {
      const DAY = 24 * 3600 * 1000;
      const start = Date.UTC(2030, 0, 1);
      let clock = start;
      const store = await open({ retention: 5, now: () => clock });
      await appendSeq(store, "r", 5, "old");
      clock = start + 8 * DAY;
      await appendSeq(store, "r", 5, "new");
      // Seqs 1–5 are beyond the last 5 and older than 7 days.
      assert.equal(await store.prune(), 5);
      assert.deepEqual(seqsOf(await all(store, "r")), range(6, 10));

      await appendSeq(store, "r", 3, "newer");
      // Seqs 6–8 are beyond the last 5 but a moment old: kept.
      assert.equal(await store.prune(), 0);
      assert.deepEqual(seqsOf(await all(store, "r")), range(6, 13));
      assert.equal((await store.recent("r", 100)).hasMore, false);

      clock = start + 15 * DAY + 1;
      assert.equal(await store.prune(), 3);
      assert.deepEqual(seqsOf(await all(store, "r")), range(9, 13));
      assert.equal(await store.lastSeq("r"), 13);
    },
  );

  t(
    "a burst deletes none of a room's history; it goes once it is past the count and the minimum age",
    async (open) => {
      const DAY = 24 * 3600 * 1000;
      const start = Date.UTC(2030, 0, 1);
      let clock = start;
      const store = await open({ retention: 100, now: () => clock });
      await Promise.all(
        range(1, 100).map((i) => store.append(draft("r", `history-${i}`))),
      );
      clock = start + 3600 * 1000;
      const burst = await Promise.all(
        range(1, 2_000).map((i) => store.append(draft("r", `flood-${i}`))),
      );
      assert.equal(burst.at(-1)!.message.seq, 2_100);
      assert.equal(await store.prune(), 0);
      const kept = await all(store, "r");
      assert.equal(kept.length, 2_100);
      assert.deepEqual(
        kept.slice(0, 100).map((m) => m.text),
        range(1, 100).map((i) => `message history-${i}`),
      );

      // A week later the burst has aged: the count applies again, in bounded passes.
      clock = start + 8 * DAY;
      let deleted = 0;
      for (let pass = 0; pass < 10; pass++) {
        const n = await store.prune();
        if (n === 0) break;
        deleted += n;
      }
      assert.equal(deleted, 2_000);
      assert.deepEqual(seqsOf(await all(store, "r")), range(2_001, 2_100));
    },
  );
}

for (const backend of backends) storeContract(backend);

/** Reads `child`'s stdout line by line. */
function lines(stream: ReadableStream<Uint8Array<ArrayBuffer>>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<string> {
      while (!buffer.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) {
          throw new Error(`stream ended; got ${JSON.stringify(buffer)}`);
        }
        buffer += value;
      }
      const i = buffer.indexOf("\n");
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      return line;
    },
    async rest(): Promise<void> {
      for (;;) if ((await reader.read()).done) return;
    },
  };
}

Deno.test("kv file store: seq stays gapless with a second OS process appending to the same file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-store-" });
  const path = `${dir}/shared.kv`;
  const stores = await openStores(path);
  const store = stores.messages;
  const PER_PROCESS = 100;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      FIXTURE,
      path,
      "shared",
      String(PER_PROCESS),
      "proc2",
    ],
    cwd: PROJECT_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const out = lines(child.stdout);
  const stdin = child.stdin.getWriter();
  try {
    assert.equal(await out.next(), "ready");
    // Both processes start appending together.
    await stdin.write(new TextEncoder().encode("go\n"));
    await stdin.close();
    const [mine, theirsLine] = await Promise.all([
      Promise.all(
        range(1, PER_PROCESS).map((i) =>
          store.append(draft("shared", `p1-${i}`))
        ),
      ),
      out.next(),
    ]);
    await out.rest();
    const status = await child.status;
    assert.equal(status.code, 0);

    const theirs = JSON.parse(theirsLine) as number[];
    const ours = mine.map((r) => r.message.seq);
    assert.equal(theirs.length, PER_PROCESS);
    // Each process's own appends are in increasing order...
    assert.deepEqual(ours, [...ours].sort((a, b) => a - b));
    assert.deepEqual(theirs, [...theirs].sort((a, b) => a - b));
    // ...and together they are exactly 1..200, no seq given twice.
    assert.deepEqual(
      [...ours, ...theirs].sort((a, b) => a - b),
      range(1, 2 * PER_PROCESS),
    );

    const stored = await all(store, "shared");
    assertGapless(stored, 2 * PER_PROCESS);
    assert.equal(
      stored.filter((m) => m.user.id === "proc-2").length,
      PER_PROCESS,
    );
    assert.equal(await store.lastSeq("shared"), 2 * PER_PROCESS);
  } finally {
    await stores.close();
    try {
      child.kill();
    } catch {
      // Already exited.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("clientId is idempotent per sender: another user reusing it gets their own message", async () => {
  const stores = await openStores(":memory:");
  const store = stores.messages;
  try {
    const ana = { id: "guest:ana", name: "Ana", kind: "guest" as const };
    const eve = { id: "guest:eve", name: "Eve", kind: "guest" as const };
    const first = await store.append({
      room: "r",
      user: ana,
      text: "mine",
      clientId: "same",
    });
    const other = await store.append({
      room: "r",
      user: eve,
      text: "hers",
      clientId: "same",
    });
    assert.equal(other.duplicate, false);
    assert.equal(other.message.text, "hers");
    const retry = await store.append({
      room: "r",
      user: ana,
      text: "mine",
      clientId: "same",
    });
    assert.equal(retry.duplicate, true);
    assert.equal(retry.message.seq, first.message.seq);
    assert.deepEqual(
      (await store.recent("r", 10)).messages.map((m) => m.text),
      ["mine", "hers"],
    );
  } finally {
    await stores.close();
  }
});

Deno.test("groupCommitSize: at most 64 appends, KV's 100 checks (one per append and per room), 256 KiB of text", () => {
  const q = (n: number, room: (i: number) => string, text = "hi") =>
    range(1, n).map((i) => ({
      draft: { room: room(i), user: ANA, text, clientId: `c${i}` },
    }));
  assert.equal(groupCommitSize(q(200, () => "one")), MAX_GROUP_COMMIT);
  assert.equal(groupCommitSize(q(10, () => "one")), 10);
  // 50 appends in 50 rooms are 100 checks.
  assert.equal(groupCommitSize(q(200, (i) => `r${i}`)), 50);
  // 4,000 characters count as 12,000 bytes: 21 fit in 256 KiB.
  assert.equal(groupCommitSize(q(40, () => "one", "x".repeat(4_000))), 21);
  assert.equal(groupCommitSize(q(1, () => "one", "x".repeat(200_000))), 1);
  assert.equal(groupCommitSize([]), 1);
});

Deno.test("groupCommitSize: an event counts two checks (its clientId and its target) and its rewritten target's bytes", () => {
  const event = (i: number, text?: string) => ({
    draft: {
      room: "one",
      user: ANA,
      clientId: `e${i}`,
      op: text === undefined
        ? { kind: "react" as const, target: 1, emoji: "👍", on: true }
        : { kind: "edit" as const, target: 1, text },
    },
  });
  // 16 KiB per event: 16 fill 256 KiB.
  assert.equal(groupCommitSize(range(1, 40).map((i) => event(i))), 16);
  // An edit of 4,000 characters adds its 12,000 bytes: 9 fit.
  assert.equal(
    groupCommitSize(range(1, 40).map((i) => event(i, "x".repeat(4_000)))),
    9,
  );
  // 1 room + 4 events × 2 = 9 checks; a fifth would make 11.
  assert.equal(
    groupCommitSize(range(1, 10).map((i) => event(i)), REMOTE_MAX_CHECKS),
    4,
  );
  // Mixed: 1 room + 6 messages + 1 event = 9; the next message makes 10.
  const mixed = [
    ...range(1, 6).map((i) => ({ draft: draft("one", i) })),
    event(7),
    ...range(8, 12).map((i) => ({ draft: draft("one", i) })),
  ];
  assert.equal(groupCommitSize(mixed, REMOTE_MAX_CHECKS), 8);
});

Deno.test("groupCommitSize: a remote database's 10 checks (KV Connect) bound the group commit", () => {
  const q = (n: number, room: (i: number) => string) =>
    range(1, n).map((i) => ({
      draft: { room: room(i), user: ANA, text: "hi", clientId: `c${i}` },
    }));
  // 9 appends and their room are 10 checks; 5 appends in 5 rooms too.
  assert.equal(groupCommitSize(q(200, () => "one"), REMOTE_MAX_CHECKS), 9);
  assert.equal(groupCommitSize(q(200, (i) => `r${i}`), REMOTE_MAX_CHECKS), 5);
  assert.equal(groupCommitSize(q(3, () => "one"), REMOTE_MAX_CHECKS), 3);
});

Deno.test("kv store with maxChecks 10: 64 appends at once are stored gapless in commits of at most 10 checks", async () => {
  const kv = await Deno.openKv(":memory:");
  const checksPerCommit: number[] = [];
  // Counts the checks each atomic write carries.
  const counted = new Proxy(kv, {
    get(target, prop) {
      if (prop !== "atomic") {
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return () => {
        const op = target.atomic();
        let checks = 0;
        const check = op.check.bind(op);
        op.check = (...c: Deno.AtomicCheck[]) => {
          checks += c.length;
          return check(...c);
        };
        const commit = op.commit.bind(op);
        op.commit = () => {
          checksPerCommit.push(checks);
          return commit();
        };
        return op;
      };
    },
  });
  try {
    const store = new KvMessageStore(counted, {
      maxChecks: REMOTE_MAX_CHECKS,
    });
    const results = await Promise.all(
      range(1, 64).map((i) => store.append(draft(i % 2 ? "odd" : "even", i))),
    );
    const seqs = (room: string) =>
      results.flatMap((r) => r.message.room === room ? [r.message.seq] : []);
    assert.deepEqual(seqs("odd"), range(1, 32));
    assert.deepEqual(seqs("even"), range(1, 32));
    assert.ok(
      checksPerCommit.every((n) => n <= REMOTE_MAX_CHECKS),
      `checks per commit: ${checksPerCommit}`,
    );
    // 8 appends and 2 rooms per commit: at least 8 commits.
    assert.ok(checksPerCommit.length >= 8, `${checksPerCommit.length} commits`);
  } finally {
    kv.close();
  }
});

/** Every key of the activity index in the KV file at `path`, read on a connection of its own. */
async function activityKeys(path: string): Promise<Deno.KvKey[]> {
  const kv = await Deno.openKv(path);
  try {
    const keys: Deno.KvKey[] = [];
    for await (const e of kv.list({ prefix: [ACTIVITY_PREFIX] })) {
      keys.push(e.key);
    }
    return keys;
  } finally {
    kv.close();
  }
}

Deno.test("kv file store: under two racing connections the index holds exactly one key per room, at its head", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-store-" });
  const path = `${dir}/index.kv`;
  const [a, b] = [await openStores(path), await openStores(path)];
  try {
    const rooms = range(1, 30).map((i) => `busy-${i}`);
    await Promise.all(
      range(1, 900).map((i) =>
        (i % 2 ? a : b).messages.append(draft(rooms[i % rooms.length], i))
      ),
    );
    const keys = await activityKeys(path);
    assert.equal(keys.length, rooms.length);
    for (const key of keys) {
      const room = String(key[2]);
      const newest = (await a.messages.recent(room, 1)).messages[0];
      assert.deepEqual(key, activityKey(newest.ts, room));
      assert.equal(newest.seq, 30);
    }
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv file store: a database written before the index gets indexed when opened, once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-store-" });
  const path = `${dir}/old.kv`;
  const old = await Deno.openKv(path);
  // Room heads as the store wrote them before the index existed.
  await old.set(["room", "old-a"], { lastSeq: 7, lastTs: 1_000 });
  await old.set(["room", "old-b"], { lastSeq: 3, lastTs: 2_000 });
  old.close();
  const stores = await openStores(path);
  try {
    assert.deepEqual(await stores.messages.rooms(10), [
      { room: "old-b", lastSeq: 3, lastTs: 2_000 },
      { room: "old-a", lastSeq: 7, lastTs: 1_000 },
    ]);
    const next = await stores.messages.append(draft("old-a", "after"));
    assert.equal(next.message.seq, 8);
    assert.deepEqual((await stores.messages.rooms(10)).map((r) => r.room), [
      "old-a",
      "old-b",
    ]);
    assert.equal((await activityKeys(path)).length, 2);
    // Indexed once: a head written now without its key (an older writer) is not re-indexed at the next open.
    const raw = await Deno.openKv(path);
    await raw.set(["room", "late"], { lastSeq: 1, lastTs: 3_000 });
    raw.close();
    const again = await openStores(path);
    await again.close();
    assert.equal((await activityKeys(path)).length, 2);
  } finally {
    await stores.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv file store: a stale index key (an older writer moved the head) is listed once, then deleted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-store-" });
  const path = `${dir}/stale.kv`;
  const stores = await openStores(path);
  try {
    const first = await stores.messages.append(draft("r", 1));
    await stores.messages.append(draft("other", 1));
    const raw = await Deno.openKv(path);
    await raw.set(
      activityKey(first.message.ts - 10 * ACTIVITY_BUCKET_MS, "r"),
      true,
    );
    raw.close();
    assert.equal((await activityKeys(path)).length, 3);
    assert.deepEqual(
      (await stores.messages.rooms(10)).map((r) => [r.room, r.lastSeq]),
      [["other", 1], ["r", 1]],
    );
    assert.equal((await activityKeys(path)).length, 2);
  } finally {
    await stores.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv store: a reaction to a message this store just wrote is one KV round trip (no read); a stale one is read again", async () => {
  const kv = await Deno.openKv(":memory:");
  let reads = 0;
  // Counts the reads the store makes.
  const counted = new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "getMany" || prop === "get") {
        return (...args: unknown[]) => {
          reads++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const store = new KvMessageStore(counted, { minAgeDays: 0 });
  const other = new KvMessageStore(kv, { minAgeDays: 0 });
  try {
    const { message } = await store.append(draft("r", 1));
    await store.append(draft("r", 2));
    reads = 0;
    const react = (on: boolean, writer = store) =>
      writer.applyEvent({
        room: "r",
        user: BEN,
        clientId: crypto.randomUUID(),
        op: { kind: "react", target: message.seq, emoji: "👍", on },
      });
    const first = await react(true);
    assert.ok(first.ok);
    assert.equal(reads, 0, "the head and the target are known");
    // Another writer on the same database folds into it meanwhile: the
    // commit's check fails and the store reads again; nothing is lost.
    assert.ok((await react(false, other)).ok);
    const again = await react(true);
    assert.ok(again.ok);
    assert.ok(reads > 0, "a stale target is read again");
    const stored = await store.get("r", message.seq);
    assert.deepEqual(stored?.reactions, [
      { emoji: "👍", users: [{ id: BEN.id, name: BEN.name }] },
    ]);
    assert.equal(stored?.rev, 5);
  } finally {
    store.close();
    other.close();
    kv.close();
  }
});

/** `n` people with names as long as a display name gets (`MAX_NAME_CHARS`). */
const crowd = (n: number, pad = "."): ChatUser[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `g-${crypto.randomUUID()}`,
    name: `Reactor ${i}`.padEnd(32, pad),
    kind: "guest",
  }));

/** `user` reacts 👍 to message `target` of room "r". */
const thumbsUp = (store: MessageStore, target: number, user: ChatUser) =>
  store.applyEvent({
    room: "r",
    user,
    clientId: crypto.randomUUID(),
    op: { kind: "react", target, emoji: "👍", on: true },
  });

Deno.test("kv store: a reaction past what a message holds is refused with a reason, and the writes committed with it are stored", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvMessageStore(kv, { minAgeDays: 0 });
  try {
    const { message } = await store.append(draft("r", 1));
    const people = crowd(MAX_REACTIONS_PER_MESSAGE + 1);
    const reacted = await Promise.all(
      people.slice(0, -1).map((user) => thumbsUp(store, message.seq, user)),
    );
    assert.ok(reacted.every((r) => r.ok));
    // One write in flight, so the next three share the following group commit.
    const busy = store.append(draft("elsewhere", "busy"));
    const [before, tooMany, after] = await Promise.all([
      store.append(draft("elsewhere", "before")),
      thumbsUp(store, message.seq, people.at(-1)!),
      store.append(draft("r", "after")),
    ]);
    await busy;
    assert.equal(!tooMany.ok && tooMany.code, "too_many_reactions");
    assert.equal(before.duplicate, false);
    assert.equal(after.message.seq, 1 + MAX_REACTIONS_PER_MESSAGE + 1);
    const stored = await store.get("r", message.seq);
    assert.equal(
      stored?.reactions?.[0].users.length,
      MAX_REACTIONS_PER_MESSAGE,
    );
  } finally {
    store.close();
    kv.close();
  }
});

Deno.test("kv store: events on large targets that together pass KV's 800 KiB per atomic write are all stored", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvMessageStore(kv, { minAgeDays: 0, retention: 100_000 });
  try {
    // 16 popular messages (as many events as one group commit takes by its
    // byte budget), each as large as a message gets: 4,000 characters and
    // every reaction it holds, by people with long names (about 57 KiB, so
    // each fits a value, and 16 together pass 800 KiB).
    const targets: number[] = [];
    for (let i = 0; i < 16; i++) {
      const { message } = await store.append({
        ...draft("r", `popular ${i}`),
        text: "ж".repeat(4_000),
      });
      const reacted = await Promise.all(
        crowd(MAX_REACTIONS_PER_MESSAGE - 1, "ж").map((user) =>
          thumbsUp(store, message.seq, user)
        ),
      );
      assert.ok(reacted.every((r) => r.ok));
      targets.push(message.seq);
    }
    const last = await store.lastSeq("r");
    // One reaction on each, at once.
    const busy = store.append(draft("elsewhere", "busy"));
    const [fan] = crowd(1);
    const results = await Promise.allSettled(
      targets.map((seq) => thumbsUp(store, seq, fan)),
    );
    await busy;
    assert.deepEqual(
      results.map((r) =>
        r.status === "fulfilled" ? r.value.ok : String(r.reason)
      ),
      targets.map(() => true),
    );
    assert.equal(await store.lastSeq("r"), last + targets.length);
  } finally {
    store.close();
    kv.close();
  }
});

Deno.test("kv file store: a retry whose original left retention is stored again once, though two processes' stores retry it at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-requeue-" });
  const path = `${dir}/log.kv`;
  const [a, b] = await Promise.all([
    openStores(path, { retention: 2, minAgeDays: 0 }),
    openStores(path, { retention: 2, minAgeDays: 0 }),
  ]);
  try {
    const original = await a.messages.append(draft("r", "lost"));
    await a.messages.append(draft("r", "two"));
    await a.messages.append(draft("r", "three"));
    assert.equal(await a.messages.get("r", original.message.seq), null);
    // Both see the clientId naming a message that is gone, and store it again.
    const [fromA, fromB] = await Promise.all([
      a.messages.append(draft("r", "lost")),
      b.messages.append(draft("r", "lost")),
    ]);
    assert.equal(fromA.message.seq, 4);
    assert.equal(fromB.message.seq, 4);
    assert.equal(fromA.message.id, fromB.message.id);
    assert.deepEqual(
      [fromA.duplicate, fromB.duplicate].sort(),
      [false, true],
      "one wrote it, the other got the stored copy",
    );
    assert.equal(await a.messages.lastSeq("r"), 4);
    // And a later retry is the stored copy.
    const again = await b.messages.append(draft("r", "lost"));
    assert.equal(again.duplicate, true);
    assert.equal(again.message.seq, 4);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

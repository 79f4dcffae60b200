/**
 * The MessageStore contract, run against what `createStore` gives for each
 * backend: KV on `:memory:` and on a file (where several instances, and
 * several processes, share one database).
 */
import assert from "node:assert/strict";
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

/** The stores `createStore` opens on the KV at `kvPath`. */
function openStores(
  kvPath: string,
  retention = DEFAULT_RETENTION,
): Promise<Stores> {
  return createStore({ store: "kv", kvPath, historyRetention: retention });
}

interface Backend {
  kind: string;
  /**
   * Opens the stores; on a backend that `shares`, every bundle opened in one
   * test is another instance (another connection) on the same database.
   */
  setup(): Promise<{
    open(options?: { retention?: number }): Promise<Stores>;
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
        open: (options) => openStores(":memory:", options?.retention),
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
        open: (options) => openStores(path, options?.retention),
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
      open: (options?: { retention?: number }) => Promise<MessageStore>,
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
    "retention keeps the last N messages and seq keeps counting",
    async (open) => {
      const store = await open({ retention: 5 });
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

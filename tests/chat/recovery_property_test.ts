/**
 * Recovery as a property: over seeded random sequences of posts, replies,
 * edits, deletes and reactions, with client A dropping offline and coming
 * back at random, A's timeline (welcome + `resume` pages from the store)
 * ends equal to B's (which saw every event live), and both equal the
 * store's own folded pages. Real store (KV in memory), real `Timeline`.
 */
import assert from "node:assert/strict";
import { Timeline } from "../../lib/chat/timeline.ts";
import type { ChatMessage, ChatUser, EventOp } from "../../lib/chat/types.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { MessageStore } from "../../lib/store/types.ts";

const ROOM = "prop";
const PEOPLE: ChatUser[] = ["Ana", "Ben", "Cy"].map((name) => ({
  id: `u-${name}`,
  name,
  kind: "guest",
}));
const EMOJI = ["👍", "🎉", "😮"];
/** Steps per run and runs: enough to hit gaps across pages, small enough to stay fast. */
const STEPS = 80;
const SEEDS = 25;
/** Small resume pages, so catching up always takes several. */
const RESUME_PAGE = 7;
/** A small welcome page, so a reconnect does not always see every message. */
const WELCOME_PAGE = 10;

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A (re)connect: welcome from the store, then resume pages until there is no gap. */
async function reconnect(store: MessageStore, t: Timeline): Promise<void> {
  const asOf = await store.lastSeq(ROOM);
  const page = await store.recent(ROOM, WELCOME_PAGE);
  t.welcome(page.messages, Math.max(asOf, page.messages.at(-1)?.seq ?? 0));
  for (let guard = 0; t.hasGap; guard++) {
    assert.ok(guard < 1_000, "resume never converged");
    const log = await store.since(ROOM, t.contiguous, RESUME_PAGE);
    t.addNewer(log.messages, log.hasMore, log.events);
  }
}

/** A's messages restricted to those B knows (A may also hold older pages; here both start empty). */
function view(t: Timeline): readonly ChatMessage[] {
  return t.messages;
}

for (let seed = 1; seed <= SEEDS; seed++) {
  Deno.test(`recovery property: seed ${seed}, A offline at random converges to B`, async () => {
    const stores = await createStore({
      store: "kv",
      kvPath: ":memory:",
      historyRetention: 10_000,
    });
    try {
      const store = stores.messages;
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T =>
        xs[Math.floor(rand() * xs.length)];
      const a = new Timeline();
      const b = new Timeline();
      a.welcome([], 0);
      b.welcome([], 0);
      let aOnline = true;
      let n = 0;
      const live = (deliver: (t: Timeline) => void) => {
        deliver(b);
        if (aOnline) deliver(a);
      };
      for (let step = 0; step < STEPS; step++) {
        const roll = rand();
        if (roll < 0.12) {
          if (aOnline) aOnline = false;
          else {
            aOnline = true;
            await reconnect(store, a);
            assert.deepEqual(view(a), view(b), `step ${step}: after reconnect`);
          }
          continue;
        }
        const messages = b.messages.filter((m) => !m.deleted);
        const user = pick(PEOPLE);
        if (roll < 0.45 || messages.length === 0) {
          const parent = messages.length && rand() < 0.3
            ? pick(messages)
            : null;
          const { message } = await store.append({
            room: ROOM,
            user,
            text: `m${++n} by ${user.name}\nsecond line`,
            clientId: `c${n}`,
            ...(parent ? { replyTo: parent.seq } : {}),
          });
          live((t) => t.add([message]));
          continue;
        }
        const target = pick(messages);
        let op: EventOp;
        let actor = user;
        if (roll < 0.6) {
          op = { kind: "edit", target: target.seq, text: `edit ${++n}` };
          actor = target.user;
        } else if (roll < 0.7) {
          op = { kind: "delete", target: target.seq, by: "author" };
          actor = target.user;
        } else {
          const emoji = pick(EMOJI);
          const mine = target.reactions?.find((r) => r.emoji === emoji)?.users
            .some((u) => u.id === user.id) ?? false;
          op = { kind: "react", target: target.seq, emoji, on: !mine };
        }
        const result = await store.applyEvent({
          room: ROOM,
          user: actor,
          clientId: `e${++n}`,
          op,
        });
        assert.ok(result.ok, JSON.stringify(result));
        const event = result.event;
        // Sometimes a live event is delivered twice (a retry, a resync): applied once.
        live((t) => {
          t.apply([event]);
          if (rand() < 0.1) t.apply([event]);
        });
      }
      if (!aOnline) await reconnect(store, a);
      assert.deepEqual(view(a), view(b), "A converged to B");
      assert.equal(a.contiguous, b.contiguous);
      // And both are what the store's folded pages say now.
      const stored = await store.recent(ROOM, 1_000);
      assert.deepEqual(b.messages, stored.messages, "B equals the store");
    } finally {
      await stores.close();
    }
  });
}

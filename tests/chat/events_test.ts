import assert from "node:assert/strict";
import {
  checkEvent,
  foldEvent,
  isOneEmoji,
  MAX_DISTINCT_REACTIONS,
  MAX_REACTIONS_PER_MESSAGE,
  MAX_SNIPPET_CHARS,
  mayEdit,
  quoteOf,
  requote,
} from "../../lib/chat/events.ts";
import type { ChatMessage, ChatUser, RoomEvent } from "../../lib/chat/types.ts";

const ANA: ChatUser = { id: "ana", name: "Ana", kind: "guest" };
const BEN: ChatUser = { id: "ben", name: "Ben", kind: "guest" };
const message: ChatMessage = {
  id: "m1",
  seq: 1,
  room: "r",
  user: ANA,
  text: "hello\nworld",
  ts: 1_000,
  clientId: "c1",
};

function ev(
  seq: number,
  op: Pick<RoomEvent, "kind"> & Record<string, unknown>,
  user = ANA,
): RoomEvent {
  return {
    target: 1,
    seq,
    room: "r",
    user,
    ts: 1_000 + seq,
    clientId: `e${seq}`,
    ...op,
  } as RoomEvent;
}

Deno.test("isOneEmoji: exactly one emoji grapheme, including sequences", () => {
  for (const ok of ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷"]) {
    assert.ok(isOneEmoji(ok), ok);
  }
  for (const bad of ["", "a", "👍👍", "👍a", "1", " ", 1, null, "🇫🇷🇫🇷"]) {
    assert.ok(!isOneEmoji(bad), String(bad));
  }
});

Deno.test("foldEvent: edit, react and delete; the same event twice is applied once", () => {
  const edit = ev(2, { kind: "edit", text: "hi" });
  const edited = foldEvent(message, edit);
  assert.deepEqual([edited.text, edited.edited, edited.rev], ["hi", 1_002, 2]);
  assert.equal(foldEvent(edited, edit), edited, "already folded: same object");
  const reacted = foldEvent(
    edited,
    ev(3, { kind: "react", emoji: "👍", on: true }, BEN),
  );
  assert.deepEqual(reacted.reactions, [{
    emoji: "👍",
    users: [{ id: "ben", name: "Ben" }],
  }]);
  const off = foldEvent(
    reacted,
    ev(4, { kind: "react", emoji: "👍", on: false }, BEN),
  );
  assert.equal(off.reactions, undefined);
  const deleted = foldEvent(reacted, ev(5, { kind: "delete", by: "author" }));
  assert.equal(deleted.text, "");
  assert.equal(deleted.edited, undefined);
  assert.equal(deleted.reactions, undefined);
  assert.deepEqual(deleted.deleted, { by: "author", ts: 1_005 });
  // Nothing changes a deleted message.
  assert.equal(
    foldEvent(deleted, ev(6, { kind: "edit", text: "back" })),
    deleted,
  );
});

Deno.test("checkEvent: authors edit within the window and delete; reactions are bounded", () => {
  const now = 2_000;
  assert.equal(
    checkEvent(null, { kind: "delete", target: 1, by: "author" }, ANA, now)
      ?.code,
    "not_found",
  );
  assert.equal(
    checkEvent(message, { kind: "edit", target: 1, text: "x" }, BEN, now)?.code,
    "forbidden",
  );
  assert.equal(
    checkEvent(message, { kind: "edit", target: 1, text: "x" }, ANA, now),
    null,
  );
  assert.equal(
    checkEvent(message, { kind: "edit", target: 1, text: "x" }, ANA, now, 999)
      ?.code,
    "edit_window_passed",
  );
  assert.equal(
    checkEvent(message, { kind: "delete", target: 1, by: "author" }, BEN, now)
      ?.code,
    "forbidden",
  );
  const full: ChatMessage = {
    ...message,
    reactions: Array.from({ length: MAX_DISTINCT_REACTIONS }, (_, i) => ({
      emoji: String.fromCodePoint(0x1f600 + i),
      users: [{ id: "ben", name: "Ben" }],
    })),
  };
  assert.equal(
    checkEvent(
      full,
      { kind: "react", target: 1, emoji: "🦄", on: true },
      ANA,
      now,
    )?.code,
    "too_many_reactions",
  );
  assert.equal(
    checkEvent(
      full,
      { kind: "react", target: 1, emoji: "😀", on: true },
      ANA,
      now,
    ),
    null,
  );
  // 400 reactions in all: one more is refused, taking one back or repeating one is not.
  const crowded: ChatMessage = {
    ...message,
    reactions: [{
      emoji: "👍",
      users: Array.from(
        { length: MAX_REACTIONS_PER_MESSAGE },
        (_, i) => ({ id: `u${i}`, name: `User ${i}` }),
      ),
    }],
  };
  const react = (emoji: string, on: boolean, id: string) =>
    checkEvent(
      crowded,
      { kind: "react", target: 1, emoji, on },
      { id, name: id, kind: "guest" },
      now,
    );
  assert.equal(react("👍", true, "new")?.code, "too_many_reactions");
  assert.equal(react("🎉", true, "new")?.code, "too_many_reactions");
  assert.equal(react("👍", false, "u1"), null);
  assert.equal(react("👍", true, "u1"), null);
  assert.equal(
    checkEvent(
      full,
      { kind: "react", target: 1, emoji: "🦄", on: false },
      ANA,
      now,
    ),
    null,
  );
});

Deno.test("quoteOf and requote: the parent's author and first line, deleted, or gone", () => {
  assert.deepEqual(quoteOf(message), {
    state: "shown",
    user: { id: "ana", name: "Ana" },
    snippet: "hello",
  });
  assert.deepEqual(quoteOf(undefined), { state: "gone" });
  const long = quoteOf({ ...message, text: "x".repeat(500) });
  assert.equal(
    long.state === "shown" && long.snippet.length,
    MAX_SNIPPET_CHARS,
  );
  const reply: ChatMessage = {
    ...message,
    seq: 2,
    replyTo: 1,
    quote: quoteOf(message),
  };
  const afterEdit = requote(
    reply,
    ev(3, { kind: "edit", text: "new first\nline" }),
  );
  assert.equal(
    afterEdit.quote?.state === "shown" && afterEdit.quote.snippet,
    "new first",
  );
  assert.deepEqual(
    requote(afterEdit, ev(4, { kind: "delete", by: "author" })).quote,
    { state: "deleted" },
  );
  assert.equal(
    requote(reply, ev(5, { kind: "react", emoji: "👍", on: true })),
    reply,
  );
});

Deno.test("mayEdit offers editing exactly where checkEvent takes it", () => {
  const deleted: ChatMessage = {
    ...message,
    deleted: { by: "author", ts: 1_500 },
  };
  for (const target of [message, deleted]) {
    for (const user of [ANA, BEN]) {
      for (const now of [1_000, 1_999, 2_000, 2_001, 90_000]) {
        for (const window of [0, 999, 1_000, 60_000]) {
          const edit = { kind: "edit", target: 1, text: "x" } as const;
          assert.equal(
            mayEdit(target, user.id, now, window),
            checkEvent(target, edit, user, now, window) === null,
            `${user.id} at ${now} with a window of ${window}`,
          );
        }
      }
    }
  }
});

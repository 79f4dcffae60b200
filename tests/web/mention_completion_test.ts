import assert from "node:assert/strict";
import {
  complete,
  MAX_SUGGESTIONS,
  mentionQueryAt,
  suggestions,
} from "../../lib/web/mention_completion.ts";

Deno.test("the @query under the caret", () => {
  assert.deepEqual(mentionQueryAt("hi @an", 6), {
    start: 3,
    end: 6,
    query: "an",
  });
  assert.deepEqual(mentionQueryAt("@", 1), { start: 0, end: 1, query: "" });
  assert.deepEqual(mentionQueryAt("(@Ana L", 7), {
    start: 1,
    end: 7,
    query: "Ana L",
  });
  // The caret before the @, an email, another line, a space right after @, too long.
  assert.equal(mentionQueryAt("hi @an", 3), null);
  assert.equal(mentionQueryAt("a@b.com", 7), null);
  assert.equal(mentionQueryAt("@an\nx", 5), null);
  assert.equal(mentionQueryAt("@ x", 3), null);
  assert.equal(mentionQueryAt("@" + "a".repeat(33), 34), null);
  assert.equal(mentionQueryAt("no at here", 5), null);
});

const people = [
  { id: "1", name: "Ana Lima" },
  { id: "2", name: "ana" },
  { id: "3", name: "Ben Anand" },
  { id: "4", name: "Cy" },
  { id: "5", name: "Ana Lima" }, // a namesake: one entry
];

Deno.test("suggestions: name prefixes first, then word prefixes; not me; one per name", () => {
  assert.deepEqual(suggestions("an", people).map((p) => p.id), ["2", "1", "3"]);
  assert.deepEqual(suggestions("AN", people, "2").map((p) => p.id), ["1", "3"]);
  assert.deepEqual(suggestions("ana l", people).map((p) => p.id), ["1"]);
  assert.deepEqual(suggestions("zed", people), []);
  assert.equal(suggestions("", people).length, 4);
  const many = Array.from(
    { length: 20 },
    (_, i) => ({ id: `${i}`, name: `P${i}` }),
  );
  assert.equal(suggestions("p", many).length, MAX_SUGGESTIONS);
});

Deno.test("complete replaces the query with @name and a space", () => {
  const q = mentionQueryAt("hi @an!", 6)!;
  assert.deepEqual(complete("hi @an!", q, "Ana Lima"), {
    text: "hi @Ana Lima !",
    caret: 13,
  });
  assert.deepEqual(complete("@", mentionQueryAt("@", 1)!, "Cy"), {
    text: "@Cy ",
    caret: 4,
  });
});

import assert from "node:assert/strict";
import { mentions } from "../../lib/chat/mentions.ts";

Deno.test("mentions: the name on its own or with @, in any case", () => {
  assert.equal(mentions("Ana", "Ana"), true);
  assert.equal(mentions("thanks @ana!", "Ana"), true);
  assert.equal(mentions("what do you think, ANA?", "Ana"), true);
  assert.equal(mentions("ask Ana Maria", "Ana Maria"), true);
  assert.equal(mentions("Ånä, hej", "ånä"), true);
});

Deno.test("mentions: not inside a longer word, and names are text, not patterns", () => {
  assert.equal(mentions("banana", "Ana"), false);
  assert.equal(mentions("Anastasia", "Ana"), false);
  assert.equal(mentions("Ana2", "Ana"), false);
  assert.equal(mentions("axb", "a.b"), false);
  assert.equal(mentions("hi a.b", "a.b"), true);
  assert.equal(mentions("nothing here", "(x+"), false);
});

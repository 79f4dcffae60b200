import assert from "node:assert/strict";
import {
  colorIndex,
  discriminator,
  DISCRIMINATOR_CHARS,
  idHash,
} from "../../lib/web/identity.ts";

Deno.test("idHash is FNV-1a", () => {
  assert.equal(idHash(""), 0x811c9dc5);
  assert.equal(idHash("a"), 0xe40c292c);
  assert.equal(idHash("foobar"), 0xbf9cf968);
});

Deno.test("the discriminator is short hex from the id, stable, and differs between ids", () => {
  const ids = Array.from({ length: 200 }, () => `guest:${crypto.randomUUID()}`);
  for (const id of ids) {
    assert.match(
      discriminator(id),
      new RegExp(`^[0-9a-f]{${DISCRIMINATOR_CHARS}}$`),
    );
    assert.equal(discriminator(id), discriminator(id));
  }
  // 200 random ids over 4,096 values: nearly all distinct.
  assert.ok(new Set(ids.map(discriminator)).size > 180);
});

Deno.test("colours come from the id, not the name, and use every class", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const c = colorIndex(`guest:${crypto.randomUUID()}`, 6);
    assert.ok(c >= 0 && c < 6);
    seen.add(c);
  }
  assert.equal(seen.size, 6);
  assert.equal(colorIndex("google:123", 6), colorIndex("google:123", 6));
});

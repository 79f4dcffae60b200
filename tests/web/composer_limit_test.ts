import assert from "node:assert/strict";
import {
  COUNTER_FROM_REMAINING,
  draftLength,
  lengthLabel,
} from "../../lib/web/composer_limit.ts";
import { MAX_MESSAGE_CHARS } from "../../lib/chat/protocol.ts";

Deno.test("a draft is fine, near the limit, at it, or over it, counted as the server counts", () => {
  assert.deepEqual(draftLength(""), { state: "fine" });
  const nearFrom = MAX_MESSAGE_CHARS - COUNTER_FROM_REMAINING;
  assert.deepEqual(draftLength("x".repeat(nearFrom - 1)), { state: "fine" });
  assert.deepEqual(draftLength("x".repeat(nearFrom)), {
    state: "near",
    remaining: COUNTER_FROM_REMAINING,
  });
  assert.deepEqual(draftLength("x".repeat(MAX_MESSAGE_CHARS)), {
    state: "near",
    remaining: 0,
  });
  assert.deepEqual(draftLength("x".repeat(MAX_MESSAGE_CHARS + 7)), {
    state: "over",
    over: 7,
  });
  // Surrounding space and stripped controls do not count (the server trims them).
  assert.deepEqual(
    draftLength(`  ${"x".repeat(MAX_MESSAGE_CHARS)}\u0007\n\n`),
    { state: "near", remaining: 0 },
  );
});

Deno.test("the labels", () => {
  assert.equal(lengthLabel({ state: "fine" }), null);
  assert.equal(
    lengthLabel({ state: "near", remaining: 1234 }),
    "1,234 characters left",
  );
  assert.equal(
    lengthLabel({ state: "over", over: 3 }),
    "3 characters over the 4,000 limit: shorten it to send",
  );
});

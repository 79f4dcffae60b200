import assert from "node:assert/strict";
import {
  addressShare,
  createBudgets,
  takeRead,
} from "../../lib/chat/budgets.ts";
import {
  READ_BURST,
  TYPING_BURST,
  TYPING_RATE_PER_S,
} from "../../lib/chat/rate_limit.ts";
import { limitsConfig } from "../../lib/config.ts";

Deno.test("addressShare: an address counts as many people as its messages allow (10 by default), at least one", () => {
  assert.equal(addressShare(limitsConfig({})), 10);
  assert.equal(
    addressShare({ messagesPerIpPerSecond: 1, rateLimitPerSecond: 2 }),
    1,
  );
});

Deno.test("createBudgets: typing per address is ten people's worth by default", () => {
  const budgets = createBudgets(limitsConfig({}));
  assert.equal(budgets.typingPerAddress.capacity, TYPING_BURST * 10);
  assert.equal(budgets.typingPerAddress.ratePerSecond, TYPING_RATE_PER_S * 10);
});

Deno.test("takeRead: a read takes from the person's budget and the address's; either spent refuses it", () => {
  const budgets = createBudgets(limitsConfig({}));
  // One clock reading for all: no refill between the takes.
  const now = Date.now();
  // One person spends their burst; the next read waits.
  for (let i = 0; i < READ_BURST; i++) {
    assert.equal(takeRead(budgets, "ana", "203.0.113.1", now), 0);
  }
  assert.ok(takeRead(budgets, "ana", "203.0.113.1", now) > 0);
  // Nine more people at that address spend theirs: an eleventh person there
  // is refused, while the same person at another address is not.
  for (let p = 1; p < 10; p++) {
    for (let i = 0; i < READ_BURST; i++) {
      assert.equal(takeRead(budgets, `p${p}`, "203.0.113.1", now), 0);
    }
  }
  assert.ok(takeRead(budgets, "newcomer", "203.0.113.1", now) > 0);
  assert.equal(takeRead(budgets, "newcomer", "198.51.100.7", now), 0);
});

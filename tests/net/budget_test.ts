import assert from "node:assert/strict";
import {
  AddressBudget,
  addressKey,
  ConnectionBudget,
  Cost,
  reservedDescriptors,
} from "../../lib/net/budget.ts";

Deno.test("ConnectionBudget: admits up to the connection cap, then refuses until one is released", () => {
  const budget = new ConnectionBudget({ connections: 2, descriptors: 100 });
  assert.ok(budget.admit());
  assert.ok(budget.admit());
  assert.ok(!budget.admit());
  budget.release(Cost.socket);
  assert.ok(budget.admit());
  assert.equal(budget.connections, 2);
  assert.equal(budget.descriptors, 2);
});

Deno.test("ConnectionBudget: relayed connections cost three descriptors; the descriptor cap holds", () => {
  const budget = new ConnectionBudget({ connections: 100, descriptors: 7 });
  assert.ok(budget.admit());
  assert.ok(budget.grow(Cost.relayed - Cost.socket));
  assert.ok(budget.admit());
  assert.ok(budget.grow(Cost.relayed - Cost.socket));
  assert.equal(budget.descriptors, 6);
  assert.ok(budget.admit()); // a plain socket still fits (7)
  assert.ok(!budget.grow(Cost.relayed - Cost.socket)); // its relay would not (9)
  assert.ok(!budget.admit());
  budget.release(Cost.relayed);
  assert.equal(budget.descriptors, 4);
  assert.equal(budget.connections, 2);
});

Deno.test("reservedDescriptors: 5 % of the limit, between 64 and 1024", () => {
  assert.equal(reservedDescriptors(256), 64);
  assert.equal(reservedDescriptors(20_000), 1_000);
  assert.equal(reservedDescriptors(1_048_576), 1_024);
});

Deno.test("addressKey: an IPv4 address as it is, an IPv6 one by its /64, an IPv4-mapped one as IPv4", () => {
  assert.equal(addressKey("203.0.113.9"), "203.0.113.9");
  // Every address of one /64 is one key, however it is written.
  for (
    const a of [
      "2001:db8:1:2::1",
      "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
      "2001:0DB8:0001:0002:0:0:0:1",
      "[2001:db8:1:2::5]",
      "2001:db8:1:2::7%eth0",
    ]
  ) assert.equal(addressKey(a), "2001:db8:1:2::/64", a);
  assert.notEqual(addressKey("2001:db8:1:3::1"), addressKey("2001:db8:1:2::1"));
  assert.equal(addressKey("2001:db8::"), "2001:db8:0:0::/64");
  assert.equal(addressKey("::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(addressKey("0:0:0:0:0:ffff:203.0.113.9"), "203.0.113.9");
  // Forms a proxy may forward: one address, one key, however it is written.
  assert.equal(addressKey("::ffff:cb00:7109"), "203.0.113.9");
  assert.equal(addressKey("0::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(addressKey("203.000.113.009"), "203.0.113.9");
  assert.equal(
    addressKey("1::3:4:5:6:1.2.3.4"),
    addressKey("1:0:3:4:5:6:102:304"),
  );
  assert.equal(addressKey("1::3:4:5:6:1.2.3.4"), "1:0:3:4::/64");
  assert.equal(addressKey("[fe80::1%eth0]"), "fe80:0:0:0::/64");
  assert.equal(addressKey("unknown"), "unknown");
});

Deno.test("AddressBudget: each key up to its cap, given back on close; 0 caps nothing", () => {
  const budget = new AddressBudget(2);
  assert.ok(budget.take("a"));
  assert.ok(budget.take("a"));
  assert.ok(!budget.take("a"));
  assert.ok(budget.take("b"));
  budget.give("a");
  assert.equal(budget.openFrom("a"), 1);
  assert.ok(budget.take("a"));
  budget.give("never-taken");
  assert.equal(budget.openFrom("never-taken"), 0);
  const none = new AddressBudget(0);
  for (let i = 0; i < 10; i++) assert.ok(none.take("a"));
});

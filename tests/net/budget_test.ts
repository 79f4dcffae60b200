import assert from "node:assert/strict";
import {
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

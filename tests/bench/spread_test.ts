import assert from "node:assert/strict";
import {
  ADDRESS_MAX_SOCKETS,
  broadcastGroup,
  livenessSenders,
  LOAD_PROCESS_MAX_SOCKETS,
  loadProcessesFor,
  loopbackAddress,
  spreadSockets,
} from "../../bench/spread.ts";

Deno.test("loopbackAddress: from 127.0.0.2 up through 127.0.0.0/8, never its broadcast address", () => {
  assert.equal(loopbackAddress(0), "127.0.0.2");
  assert.equal(loopbackAddress(253), "127.0.0.255");
  assert.equal(loopbackAddress(254), "127.0.1.0");
  assert.equal(loopbackAddress(0xff_ff_fc), "127.255.255.254");
  assert.throws(() => loopbackAddress(0xff_ff_fd), RangeError);
  assert.throws(() => loopbackAddress(-1), RangeError);
  assert.throws(() => loopbackAddress(1.5), RangeError);
});

Deno.test("loadProcessesFor: auto is the fewest under the cap; fewer than that is refused", () => {
  assert.equal(loadProcessesFor(50_000, "auto"), 4);
  assert.equal(loadProcessesFor(LOAD_PROCESS_MAX_SOCKETS, "auto"), 1);
  assert.equal(loadProcessesFor(LOAD_PROCESS_MAX_SOCKETS + 1, "auto"), 2);
  assert.equal(loadProcessesFor(0, "auto"), 1);
  assert.equal(loadProcessesFor(300, 2), 2);
  assert.throws(() => loadProcessesFor(50_000, 3), RangeError);
  // Every process stays under the 20,000 nofile limit this was made for.
  assert.ok(LOAD_PROCESS_MAX_SOCKETS < 20_000);
});

Deno.test("spreadSockets: 50,000 over 4 processes, one address each, every socket once, in order", () => {
  const slices = spreadSockets(50_000, loadProcessesFor(50_000, "auto"));
  assert.deepEqual(
    slices.map((s) => [s.process, s.address, s.first, s.count]),
    [
      [0, "127.0.0.2", 0, 12_500],
      [1, "127.0.0.3", 12_500, 12_500],
      [2, "127.0.0.4", 25_000, 12_500],
      [3, "127.0.0.5", 37_500, 12_500],
    ],
  );
});

Deno.test("spreadSockets: a process over the per-address cap gets several addresses, evenly; remainders go first", () => {
  const slices = spreadSockets(30_001, 2, 10_000);
  assert.deepEqual(
    slices.map((s) => [s.process, s.address, s.first, s.count]),
    [
      [0, "127.0.0.2", 0, 7_501],
      [0, "127.0.0.3", 7_501, 7_500],
      [1, "127.0.0.4", 15_001, 7_500],
      [1, "127.0.0.5", 22_501, 7_500],
    ],
  );
  for (const [total, processes] of [[1, 1], [7, 3], [99_999, 7], [0, 2]]) {
    const spread = spreadSockets(total, processes);
    let next = 0;
    for (const s of spread) {
      assert.equal(s.first, next);
      assert.ok(s.count >= 1 && s.count <= ADDRESS_MAX_SOCKETS);
      next += s.count;
    }
    assert.equal(next, total);
    const addresses = spread.map((s) => s.address);
    assert.equal(new Set(addresses).size, addresses.length);
  }
  // More processes than sockets: the idle ones get no slice.
  assert.deepEqual(spreadSockets(2, 3).map((s) => s.process), [0, 1]);
  assert.throws(() => spreadSockets(10, 0), RangeError);
  assert.throws(() => spreadSockets(-1, 1), RangeError);
  assert.throws(() => spreadSockets(10, 1, 0), RangeError);
});

Deno.test("livenessSenders: one message per broadcast group, from the first load process in it", () => {
  // Roomcast: a group is a room, across server processes.
  assert.equal(broadcastGroup(3, null), "3");
  // bare: a room's broadcast stays in its process.
  assert.equal(broadcastGroup(3, 4242), "3@4242");
  assert.deepEqual(
    livenessSenders([
      { "0@1": 2, "0@2": 0 },
      { "0@1": 1, "0@2": 3, "1@1": 1 },
      {},
    ]),
    {
      sends: [["0@1"], ["0@2", "1@1"], []],
      members: { "0@1": 3, "0@2": 3, "1@1": 1 },
    },
  );
  assert.deepEqual(livenessSenders([]), { sends: [], members: {} });
});

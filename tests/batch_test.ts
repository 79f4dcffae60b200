import assert from "node:assert/strict";
import {
  ADMISSION_TURN_EVERY,
  KeyedReads,
  NextBatch,
  ReadTurns,
} from "../lib/batch.ts";

/** A `work` whose jobs the test finishes by hand, recording each job's inputs. */
function manualWork<I, O>() {
  const jobs: {
    inputs: readonly I[];
    finish: (outputs: readonly O[]) => void;
    fail: (err: unknown) => void;
  }[] = [];
  const work = (inputs: readonly I[]) =>
    new Promise<readonly O[]>((finish, fail) =>
      jobs.push({ inputs, finish, fail })
    );
  return { jobs, work };
}

Deno.test("NextBatch: the first call starts a job at once; calls made while it runs share the next job", async () => {
  const { jobs, work } = manualWork<number, string>();
  const batch = new NextBatch(work);
  const first = batch.run(1);
  assert.deepEqual(jobs.map((j) => j.inputs), [[1]]);
  const rest = [batch.run(2), batch.run(3), batch.run(4)];
  assert.equal(jobs.length, 1, "no second job while the first is in flight");
  jobs[0].finish(["one"]);
  assert.equal(await first, "one");
  assert.deepEqual(jobs.map((j) => j.inputs), [[1], [2, 3, 4]]);
  jobs[1].finish(["two", "three", "four"]);
  assert.deepEqual(await Promise.all(rest), ["two", "three", "four"]);
  assert.equal(jobs.length, 2);
});

Deno.test("NextBatch: a call made during a job is answered by the NEXT job, never the one in flight", async () => {
  let state = "old";
  const reads: string[] = [];
  const { jobs, work } = manualWork<void, string>();
  const batch = new NextBatch<void, string>((inputs) => {
    reads.push(state); // what this job "reads" when it begins
    return work(inputs);
  });
  const early = batch.run();
  state = "new"; // written after the first job began...
  const late = batch.run(); // ...and asked after the write
  jobs[0].finish([reads[0]]);
  assert.equal(await early, "old");
  assert.equal(jobs.length, 2, "the late caller gets a job of its own");
  jobs[1].finish([reads[1]]);
  assert.equal(await late, "new");
});

Deno.test("NextBatch: a failed job rejects its own callers only; the next job still runs", async () => {
  const { jobs, work } = manualWork<string, string>();
  const batch = new NextBatch(work);
  const first = batch.run("a");
  const second = [batch.run("b"), batch.run("c")];
  jobs[0].finish(["A"]);
  assert.equal(await first, "A");
  assert.deepEqual(jobs[1].inputs, ["b", "c"]);
  const third = batch.run("d"); // asked while the second job runs
  jobs[1].fail(new Error("read failed"));
  for (const p of second) await assert.rejects(p, /^Error: read failed$/);
  assert.deepEqual(jobs[2].inputs, ["d"]);
  jobs[2].finish(["D"]);
  assert.equal(await third, "D");
});

Deno.test("NextBatch: work answering the wrong number of outputs rejects that job's callers", async () => {
  const batch = new NextBatch<number, number>(() => Promise.resolve([1, 2]));
  await assert.rejects(batch.run(1), /work returned 2 outputs for 1 inputs/);
  // And a throw before any promise (not async) rejects the same way.
  const throwing = new NextBatch<number, number>(() => {
    throw new Error("sync");
  });
  await assert.rejects(throwing.run(1), /^Error: sync$/);
});

Deno.test("NextBatch: onIdle fires once each time the queue drains, not between jobs", async () => {
  const { jobs, work } = manualWork<number, number>();
  let idle = 0;
  const batch = new NextBatch(work, () => idle++);
  const calls = [batch.run(1), batch.run(2), batch.run(3)];
  jobs[0].finish([10]);
  assert.equal(await calls[0], 10);
  assert.equal(idle, 0, "not idle: the second job is in flight");
  jobs[1].finish([20, 30]);
  assert.deepEqual(await Promise.all(calls), [10, 20, 30]);
  assert.equal(idle, 1);
  // Used again after draining: a fresh job, and onIdle again once it is done.
  const again = batch.run(4);
  assert.deepEqual(jobs[2].inputs, [4]);
  jobs[2].finish([40]);
  assert.equal(await again, 40);
  assert.equal(idle, 2);
});

Deno.test("NextBatch: onIdle fires after a failed job too", async () => {
  let idle = 0;
  const batch = new NextBatch<number, number>(
    () => Promise.reject(new Error("down")),
    () => idle++,
  );
  await assert.rejects(batch.run(1), /^Error: down$/);
  assert.equal(idle, 1);
});

Deno.test("KeyedReads: one read per key in flight; who asks meanwhile gets the NEXT read; keys are independent", async () => {
  const reads = new KeyedReads();
  let state = "old";
  const started: string[] = [];
  const pending: (() => void)[] = [];
  /** A read of `key` that captures the state when it begins and ends when the test says. */
  const read = (key: string) => () => {
    const seen = `${key}:${state}`;
    started.push(seen);
    return new Promise<string>((done) => pending.push(() => done(seen)));
  };
  const first = reads.read("a", read("a"));
  const other = reads.read("b", read("b"));
  assert.deepEqual(started, ["a:old", "b:old"]);
  state = "new";
  const later = [reads.read("a", read("a")), reads.read("a", read("a"))];
  assert.equal(
    started.length,
    2,
    "no second read of a key while one is in flight",
  );
  pending.shift()!();
  assert.equal(await first, "a:old");
  assert.deepEqual(started, ["a:old", "b:old", "a:new"]);
  pending.shift()!();
  assert.equal(await other, "b:old");
  pending.shift()!();
  assert.deepEqual(await Promise.all(later), ["a:new", "a:new"]);
  assert.equal(started.length, 3, "one read answered both later callers");
});

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("ReadTurns: at most max in flight; a free turn is given at once; a released turn goes to the next waiting read, admitted ones first", async () => {
  const turns = new ReadTurns(2);
  const a = turns.take("admission");
  const b = turns.take("admitted");
  if (a instanceof Promise || b instanceof Promise) {
    throw new Error("free turns are given at once");
  }
  assert.equal(turns.inFlight, 2);
  const order: string[] = [];
  const held = new Map<string, () => void>();
  for (
    const [name, priority] of [
      ["new-1", "admission"],
      ["in-1", "admitted"],
      ["new-2", "admission"],
      ["in-2", "admitted"],
    ] as const
  ) {
    const turn = turns.take(priority);
    assert.ok(turn instanceof Promise, `${name} waits`);
    turn.then((release) => {
      order.push(name);
      held.set(name, release);
    });
  }
  a();
  a(); // a second release of the same turn gives nothing away
  await tick();
  assert.deepEqual(order, ["in-1"]);
  assert.equal(turns.inFlight, 2);
  b();
  await tick();
  assert.deepEqual(order, ["in-1", "in-2"]);
  held.get("in-1")!();
  held.get("in-2")!();
  await tick();
  assert.deepEqual(order, ["in-1", "in-2", "new-1", "new-2"]);
  held.get("new-1")!();
  held.get("new-2")!();
  assert.equal(turns.inFlight, 0);
});

Deno.test("KeyedReads with turns: a read waits for a turn, and callers asking meanwhile share it; no more reads in flight than turns", async () => {
  const turns = new ReadTurns(1);
  const reads = new KeyedReads(turns);
  const admission = new KeyedReads(turns, "admission");
  const pending: (() => void)[] = [];
  const started: string[] = [];
  let maxInFlight = 0;
  let inFlight = 0;
  const read = (value: string) => () => {
    started.push(value);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    return new Promise<string>((done) =>
      pending.push(() => {
        inFlight--;
        done(value);
      })
    );
  };
  const first = reads.read("a", read("a1"));
  assert.deepEqual(started, ["a1"], "a free turn: the read starts at once");
  // Both wait for the one turn; the admitted read gets it first.
  const newcomer = admission.read("room", read("room"));
  const waiting = [reads.read("b", read("b1")), reads.read("b", read("b2"))];
  await tick();
  assert.deepEqual(started, ["a1"]);
  pending.shift()!();
  assert.equal(await first, "a1");
  await tick();
  assert.deepEqual(started, ["a1", "b1"], "one read of b for both callers");
  pending.shift()!();
  assert.deepEqual(await Promise.all(waiting), ["b1", "b1"]);
  await tick();
  assert.deepEqual(started, ["a1", "b1", "room"]);
  pending.shift()!();
  assert.equal(await newcomer, "room");
  assert.equal(maxInFlight, 1);
  assert.equal(turns.inFlight, 0);
});

Deno.test("ReadTurns: a steady stream of admitted reads still lets an admission read in, one turn in ADMISSION_TURN_EVERY", async () => {
  const turns = new ReadTurns(1);
  const first = turns.take("admitted");
  if (first instanceof Promise) throw new Error("a free turn at once");
  const order: string[] = [];
  const held: (() => void)[] = [];
  const wait = (name: string, priority: "admitted" | "admission") => {
    const turn = turns.take(priority);
    assert.ok(turn instanceof Promise);
    turn.then((release) => {
      order.push(name);
      held.push(release);
    });
  };
  wait("new", "admission");
  for (let i = 0; i < 2 * ADMISSION_TURN_EVERY; i++) {
    wait(`in-${i}`, "admitted");
  }
  first();
  for (let i = 0; i < 2 * ADMISSION_TURN_EVERY; i++) {
    await tick();
    held.shift()!();
  }
  await tick();
  assert.equal(order.indexOf("new"), ADMISSION_TURN_EVERY - 1, order.join());
  assert.equal(order.length, 2 * ADMISSION_TURN_EVERY + 1);
});

Deno.test("NextBatch with a turn: work that throws at once still gives its turn back", async () => {
  const turns = new ReadTurns(1);
  const batch = new NextBatch<number, number>(
    () => {
      throw new Error("bad");
    },
    undefined,
    () => turns.take("admitted"),
  );
  await assert.rejects(batch.run(1), /bad/);
  await assert.rejects(batch.run(2), /bad/);
  assert.equal(turns.inFlight, 0);
});

import assert from "node:assert/strict";
import { KeyWatches, WATCH_KEYS } from "../../lib/chat/kv_watch.ts";
import { quietLogger } from "../../lib/log.ts";
import { countingKv } from "../_helpers/counting_kv.ts";
import { Signal } from "../../support/wait.ts";

/** Records what the watches report and lets a test await a report. */
class Reports {
  readonly entries: { name: string; value: unknown }[] = [];
  readonly failures: string[][] = [];
  readonly #signal = new Signal();

  readonly handlers = {
    onEntry: (name: string, entry: Deno.KvEntryMaybe<unknown>) => {
      this.entries.push({ name, value: entry.value });
      this.#signal.notify();
    },
    onFailure: (names: readonly string[]) => {
      this.failures.push([...names]);
      this.#signal.notify();
    },
  };

  /** Resolves once `name` was reported with `value` (at or after report `from`). */
  saw(name: string, value: unknown, from = 0): Promise<void> {
    return this.#signal.until(
      () =>
        this.entries.slice(from).some((e) =>
          e.name === name && e.value === value
        ),
      `${name} reported as ${value}`,
    );
  }
}

async function withWatches(
  body: (
    watches: KeyWatches,
    reports: Reports,
    kv: Deno.Kv,
    setFailing: (on: boolean) => void,
  ) => Promise<void>,
): Promise<{ watches: number }> {
  const kv = await Deno.openKv(":memory:");
  let failing = false;
  const counted = countingKv(kv, {
    watchError: () => failing ? new Error("KV unreachable") : null,
  });
  const reports = new Reports();
  const watches = new KeyWatches(
    counted.kv,
    (name) => ["k", name],
    reports.handlers,
    quietLogger,
  );
  try {
    await body(watches, reports, kv, (on) => failing = on);
  } finally {
    await watches.close();
    kv.close();
  }
  assert.equal(watches.streams(), 0);
  return { watches: counted.counts.watches };
}

Deno.test("KeyWatches: names added in one tick share a stream; the eleventh opens another; removing stops them", async () => {
  const names = Array.from({ length: WATCH_KEYS + 1 }, (_, i) => `n${i}`);
  const { watches: opened } = await withWatches(
    async (watches, reports, kv) => {
      await Promise.all(names.slice(0, WATCH_KEYS).map((n) => watches.add(n)));
      assert.equal(watches.streams(), 1);
      await watches.add(names[WATCH_KEYS]);
      assert.equal(watches.streams(), 2);
      assert.equal(watches.size, WATCH_KEYS + 1);
      for (const name of names) await kv.set(["k", name], `v-${name}`);
      await Promise.all(names.map((n) => reports.saw(n, `v-${n}`)));

      await watches.remove(names[WATCH_KEYS]);
      assert.equal(watches.streams(), 1);
      await Promise.all(names.map((n) => watches.remove(n)));
      assert.equal(watches.streams(), 0);
      assert.equal(watches.size, 0);
    },
  );
  // One stream for the first ten, one for the eleventh; emptied streams only stop.
  assert.equal(opened, 2);
});

Deno.test("KeyWatches: a name's first report is its current value, from a stream opened after it was added", async () => {
  await withWatches(async (watches, reports, kv) => {
    await kv.set(["k", "a"], "old");
    await watches.add("a");
    await reports.saw("a", "old");
    await kv.set(["k", "a"], "new");
    await reports.saw("a", "new");
    // Removed and re-added in one tick: the re-opened stream reports it afresh.
    const before = reports.entries.length;
    watches.remove("a");
    await watches.add("a");
    await reports.saw("a", "new", before);
    assert.deepEqual(reports.entries.slice(before), [
      { name: "a", value: "new" },
    ]);
  });
});

Deno.test("KeyWatches: a failed stream is reported with its names, retried, and reports the current values once back", async () => {
  await withWatches(async (watches, reports, kv, setFailing) => {
    await watches.add("a");
    await reports.saw("a", null);
    assert.equal(watches.failing(), false);
    setFailing(true);
    // Adding `b` re-opens the stream that holds `a`: it fails.
    await watches.add("b");
    assert.deepEqual(reports.failures, [["a", "b"]]);
    assert.equal(watches.failing(), true);
    await kv.set(["k", "a"], "while down");
    setFailing(false);
    await reports.saw("a", "while down");
    assert.equal(watches.failing(), false);
  });
});

/**
 * The message store alone, on a fresh Deno KV file: appends per second
 * (group commits) and the lobby's `rooms()` read, through `createStore`
 * exactly as the server opens it. No server, no sockets: this isolates what
 * one KV writer costs, so a change to the append path shows up here first.
 *
 * Run: `deno run -A bench/store.ts [--appends=20000] [--rooms=100000]
 * [--runs=3] [--retention=10000] [--min-age-days=7]`. Prints one line per
 * measurement, then a JSON summary as the last line of stdout. Next to each
 * rate, the process's CPU time per append (all threads, SQLite's included):
 * on a busy machine the rate swings with the neighbours, the CPU cost much
 * less.
 *
 * - **one room**: `--appends` appends into one room, 200 in flight (past
 *   `--retention` for the second half with the defaults: with
 *   `--min-age-days=0` the count-only deletes are part of the appends);
 * - **100 rooms**: the same spread over 100 rooms;
 * - **one room, 10 % reactions**: the same writes into one room, every tenth
 *   a 👍 toggle on the newest message this run has stored (what
 *   `deno task bench --reactions=10` sends);
 * - **sequential**: 2,000 appends one after another (one commit each: the
 *   latency of a lone message);
 * - **lobby**: `--rooms` rooms made with one message each, then the median
 *   time of `rooms(100)`;
 * - **sweep**: one room `--appends` past `--retention`, aged by a moved clock,
 *   then `prune()` passes until nothing is left: messages deleted per second
 *   by the background retention sweep.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuSeconds } from "./common.ts";
import { createStore } from "../lib/store/stores.ts";
import type { MessageStore, StoreOptions } from "../lib/store/types.ts";

const USER = { id: "guest:bench", name: "Bench", kind: "guest" as const };
/** Appends kept in flight, about what a busy instance queues. */
const IN_FLIGHT = 200;
/** Appends in the sequential measurement. */
const SEQUENTIAL = 2_000;
/** `rooms(100)` calls timed for the lobby figure. */
const LOBBY_READS = 20;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    appends: { type: "string", default: "20000" },
    rooms: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    retention: { type: "string", default: "10000" },
    "min-age-days": { type: "string", default: "7" },
  },
});
const appends = Number(values.appends);
const roomCount = Number(values.rooms);
const runs = Number(values.runs);

/** Runs `count` appends, `IN_FLIGHT` at a time; `room(i)` names the room of the i-th. */
async function appendAll(
  store: MessageStore,
  count: number,
  room: (i: number) => string,
  prefix: string,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await store.append({
        room: room(i),
        user: USER,
        text: `bench message ${i} with a few words of text in it`,
        clientId: `${prefix}-${i}`,
      });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/**
 * Like {@link appendAll} into one room, but every `reactEvery`-th write is a
 * reaction (a 👍 toggle) on the newest message stored so far. A refused
 * reaction (there is none yet) still counts as a write: it went through the
 * store all the same.
 */
async function writeWithReactions(
  store: MessageStore,
  count: number,
  reactEvery: number,
): Promise<void> {
  let next = 0;
  let newest = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (i % reactEvery === reactEvery - 1 && newest > 0) {
        await store.applyEvent({
          room: "mixed",
          user: USER,
          clientId: `react-${i}`,
          op: { kind: "react", target: newest, emoji: "👍", on: i % 2 === 0 },
        });
        continue;
      }
      const { message } = await store.append({
        room: "mixed",
        user: USER,
        text: `bench message ${i} with a few words of text in it`,
        clientId: `mixed-${i}`,
      });
      newest = Math.max(newest, message.seq);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Opens a fresh KV file, runs `fn` on its message store, cleans up. */
async function withStore<T>(
  fn: (store: MessageStore) => Promise<T>,
  now: () => number = Date.now,
) {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-bench-store-" });
  const options: StoreOptions = {
    store: "kv",
    kvPath: `${dir}/bench.kv`,
    historyRetention: Number(values.retention),
    historyMinAgeDays: Number(values["min-age-days"]),
  };
  const stores = await createStore(options, now);
  try {
    return await fn(stores.messages);
  } finally {
    await stores.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Appends per second of `fn` (which makes `count` appends), best of `runs`,
 * and CPU µs per append, lowest of `runs`.
 */
async function rate(
  name: string,
  count: number,
  fn: (store: MessageStore) => Promise<void>,
): Promise<[number, number]> {
  let best = 0;
  let cpu = Infinity;
  for (let r = 0; r < runs; r++) {
    const [perSecond, cpuUs] = await withStore(async (store) => {
      const cpuStart = cpuSeconds(Deno.pid) ?? 0;
      const start = performance.now();
      await fn(store);
      const elapsed = performance.now() - start;
      const cpuUsed = (cpuSeconds(Deno.pid) ?? 0) - cpuStart;
      return [count / (elapsed / 1000), cpuUsed * 1e6 / count];
    });
    best = Math.max(best, perSecond);
    cpu = Math.min(cpu, cpuUs);
  }
  console.log(
    `${name}: ${Math.round(best)} appends/s (best of ${runs}), ${
      Math.round(cpu)
    } µs CPU per append`,
  );
  return [Math.round(best), Math.round(cpu)];
}

const summary: Record<string, number> = {};
[summary.oneRoom, summary.oneRoomCpuUs] = await rate(
  "one room",
  appends,
  (s) => appendAll(s, appends, () => "bench", "one"),
);
[summary.oneRoomReactions, summary.oneRoomReactionsCpuUs] = await rate(
  "one room, 10 % reactions",
  appends,
  (s) => writeWithReactions(s, appends, 10),
);
[summary.hundredRooms, summary.hundredRoomsCpuUs] = await rate(
  "100 rooms",
  appends,
  (s) => appendAll(s, appends, (i) => `room-${i % 100}`, "many"),
);
[summary.sequential, summary.sequentialCpuUs] = await rate(
  "sequential",
  SEQUENTIAL,
  async (s) => {
    for (let i = 0; i < SEQUENTIAL; i++) {
      await s.append({
        room: "seq",
        user: USER,
        text: `sequential ${i}`,
        clientId: `seq-${i}`,
      });
    }
  },
);

await withStore(async (store) => {
  const start = performance.now();
  await appendAll(store, roomCount, (i) => `r${i}`, "lobby");
  const made = performance.now() - start;
  console.log(
    `lobby: ${roomCount} rooms made in ${Math.round(made)} ms (${
      Math.round(roomCount / (made / 1000))
    } appends/s)`,
  );
  const times: number[] = [];
  let listed = 0;
  for (let i = 0; i < LOBBY_READS; i++) {
    const t = performance.now();
    listed = (await store.rooms(100)).length;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const ms = median.toFixed(2);
  console.log(
    `lobby: rooms(100) median ${ms} ms over ${LOBBY_READS} reads (${listed} listed)`,
  );
  summary.roomsMadePerSecond = Math.round(roomCount / (made / 1000));
  summary.lobbyReadMs = Number(median.toFixed(2));
});

let clock = Date.now();
// With a minimum age of 0, retention is by count inside the appends: no sweep.
if (Number(values["min-age-days"]) > 0) {
  await withStore(async (store) => {
    const retention = Number(values.retention);
    await appendAll(store, retention + appends, () => "swept", "sweep");
    clock += (Number(values["min-age-days"]) + 1) * 24 * 3600 * 1000;
    const start = performance.now();
    let deleted = 0;
    for (let n = await store.prune(); n > 0; n = await store.prune()) {
      deleted += n;
    }
    const ms = performance.now() - start;
    const perSecond = Math.round(deleted / (ms / 1000));
    console.log(
      `sweep: ${deleted} messages deleted in ${
        Math.round(ms)
      } ms (${perSecond}/s)`,
    );
    summary.sweptPerSecond = perSecond;
  }, () => clock);
}

console.log(JSON.stringify(summary));

/**
 * What a second writer on one KV file costs: the message store's appends
 * from one worker against the same appends split over `--writers` workers of
 * one process, each with its own handle on the same fresh KV file, into the
 * same rooms — what `WORKERS=N` does, where every worker stores the messages
 * its own sockets send, whatever room they are in.
 *
 * Run: `deno run -A bench/writers.ts [--appends=6000] [--rooms=20]
 * [--writers=2] [--runs=2]`. For each run, one writer then N (interleaved):
 * appends per second and the process's CPU per append (all threads, SQLite's
 * included). Last line: JSON.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuSeconds } from "./common.ts";

const USER = { id: "guest:bench", name: "Bench", kind: "guest" as const };
/** Appends in flight across all writers, about what a busy instance queues. */
const IN_FLIGHT = 200;

interface Job {
  path: string;
  writer: number;
  appends: number;
  rooms: number;
  inFlight: number;
}

/** In a worker: appends `job.appends` messages, `job.inFlight` at a time. */
async function work(job: Job): Promise<{ ms: number }> {
  const { createStore } = await import("../lib/store/stores.ts");
  const stores = await createStore({
    store: "kv",
    kvPath: job.path,
    historyRetention: 10_000,
  });
  try {
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: job.inFlight }, async () => {
        while (next < job.appends) {
          const i = next++;
          await stores.messages.append({
            room: `room-${i % job.rooms}`,
            user: USER,
            text: `message ${i} from writer ${job.writer}`,
            clientId: `w${job.writer}-${i}`,
          });
        }
      }),
    );
    return { ms: performance.now() - t };
  } finally {
    await stores.close();
  }
}

/** The name of the workers this module starts, by which it knows it is one. */
const WORKER_NAME = "roomcast-bench-writer";
const inWorker = (globalThis as { name?: string }).name === WORKER_NAME;

// As a worker (this same module): one writer.
if (inWorker) {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent<Job>) => void) | null;
    postMessage: (message: unknown) => void;
  };
  scope.onmessage = async (e) => {
    try {
      scope.postMessage({ ok: true, ...(await work(e.data)) });
    } catch (err) {
      scope.postMessage({ ok: false, error: String(err) });
    }
  };
}

/** Runs `writers` workers on one fresh file; appends/s and CPU µs per append. */
async function measure(
  writers: number,
  appends: number,
  rooms: number,
): Promise<{ writers: number; perSecond: number; cpuUsPerAppend: number }> {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-writers-" });
  try {
    const path = `${dir}/bench.kv`;
    const c0 = cpuSeconds(Deno.pid) ?? 0;
    const t = performance.now();
    const results = await Promise.all(
      Array.from(
        { length: writers },
        (_, w) =>
          new Promise<{ ok: boolean; error?: string }>((resolve) => {
            const worker = new Worker(import.meta.url, {
              type: "module",
              name: WORKER_NAME,
            });
            worker.onmessage = (e) => {
              worker.terminate();
              resolve(e.data);
            };
            worker.postMessage(
              {
                path,
                writer: w,
                appends: Math.floor(appends / writers),
                rooms,
                inFlight: Math.floor(IN_FLIGHT / writers),
              } satisfies Job,
            );
          }),
      ),
    );
    const ms = performance.now() - t;
    const failed = results.find((r) => !r.ok);
    if (failed) throw new Error(failed.error);
    const done = Math.floor(appends / writers) * writers;
    const cpu = (cpuSeconds(Deno.pid) ?? 0) - c0;
    return {
      writers,
      perSecond: done / (ms / 1000),
      cpuUsPerAppend: (cpu * 1e6) / done,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main && !inWorker) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      appends: { type: "string", default: "6000" },
      rooms: { type: "string", default: "20" },
      writers: { type: "string", default: "2" },
      runs: { type: "string", default: "2" },
    },
  });
  const appends = Number(values.appends);
  const rooms = Number(values.rooms);
  const writers = Number(values.writers);
  const out = [];
  for (let run = 0; run < Number(values.runs); run++) {
    for (const w of [1, writers]) {
      const r = await measure(w, appends, rooms);
      console.log(
        `${w} writer(s): ${r.perSecond.toFixed(0)} appends/s, ${
          r.cpuUsPerAppend.toFixed(0)
        } µs CPU per append`,
      );
      out.push(r);
    }
  }
  console.log(JSON.stringify({ bench: "writers", appends, rooms, runs: out }));
  Deno.exit(0);
}

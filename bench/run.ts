/**
 * `deno task bench`: the real Roomcast server, and a bare Deno broadcast
 * server as the physical limit (`bench/bare_server.ts`), under three
 * scenarios of WebSocket clients on 127.0.0.1, each figure next to the
 * bare server's with the ratio roomcast/bare:
 *
 * - **idle** (`bench/scenarios/idle.ts`): memory per idle socket. 10,000
 *   sockets over 20 rooms; server RSS after a probe socket and a settle,
 *   then after every socket opened and RSS settled: KiB per socket. The
 *   sockets are held 10 s and must all still be open; then one message per
 *   room must reach every socket. Issue target: roomcast/bare ≤ 1.25×.
 *   Past one process' `nofile` limit (`--sockets=50000 --processes=3
 *   --layer=redis`), `bench/scenarios/idle_spread.ts`: several server
 *   processes on one port and load processes from several 127.0.0.x source
 *   addresses, the same measurement summed over the server processes; issue
 *   target there ≤ 1.1×.
 * - **fanout** (`bench/scenarios/fanout.ts`): R rooms × C clients (20 × 25),
 *   S senders per room within Roomcast's 2 msgs/s per connection, a fixed
 *   total rate (200 msgs/s): delivered msgs/s (one message reaching one
 *   socket), latency p50/p99/max from the send time embedded in each text,
 *   loss, RSS per socket, CPU of server, client and the rest of the host.
 * - **ramp** (`bench/scenarios/ramp.ts`): the same 500 sockets connected once;
 *   the offered rate steps up ×1.5 from 200 msgs/s, then bisects, to find
 *   the highest delivered msgs/s with p99 < 250 ms and no loss. Roomcast runs
 *   the ramp with `RATE_LIMIT_BURST=100000` and `RATE_LIMIT_PER_SECOND=100000`
 *   so its per-connection flood limit does not end it. Issue target:
 *   roomcast/bare ≥ 0.75×, aim 0.8×.
 *
 * Each scenario starts a fresh server per target as a subprocess (Roomcast: a
 * fresh KV file, a fixed session secret, `LOG_LEVEL=error`, `CHANNEL_LAYER`
 * from `--layer`; for `redis` a private `redis-server` on a free port with no
 * persistence, whose CPU counts as the server's). Every Roomcast client is
 * its own guest: all are signed in once, before any scenario, on a separate
 * short-lived Roomcast instance with the same session secret (guests are not
 * stored, so any instance accepts their cookies), which keeps the sign-ins'
 * garbage out of the measured server's RSS. All clients live in this
 * process, so one monotonic clock stamps both ends of every message.
 *
 * Run: `deno task bench` (all three, idle → fanout → ramp, about 4 minutes on
 * a quiet 2-core machine), or e.g. `deno task bench --scenario=ramp
 * --target=roomcast --layer=broadcast`. `--help` lists every flag and the
 * expected durations. Prints a table per scenario as it finishes, then a
 * one-line JSON summary of every scenario as the last line of stdout;
 * progress goes to stderr. Exits 2 on a bad flag or too low `ulimit -n`, 1 if
 * a scenario failed or a server died.
 *
 * @module
 */

import {
  fmt,
  killAllNow,
  type LatencySummary,
  loadAverage,
  log,
  makeTempDir,
  removeTempDir,
  round,
  Samples,
} from "./common.ts";
import { fdShortfall, MAX_RAMP_STEPS } from "./decide.ts";
import {
  EXPECTED_SECONDS,
  HELP,
  type Options,
  parseArgs,
  type Scenario,
  sendersPerRoom,
  type Target,
  UsageError,
} from "./options.ts";
import {
  fanoutRatios,
  type FanoutResult,
  fanoutTable,
  runFanout,
} from "./scenarios/fanout.ts";
import {
  idleRatio,
  type IdleResult,
  idleTable,
  runIdle,
} from "./scenarios/idle.ts";
import {
  rampRatio,
  type RampResult,
  rampTable,
  runRamp,
} from "./scenarios/ramp.ts";
import { runIdleSpread, spreadsLoad } from "./scenarios/idle_spread.ts";
import { signInGuests } from "./server.ts";
import { LOAD_PROCESS_MAX_SOCKETS } from "./spread.ts";
import {
  bareMainThreadBound,
  runStorm,
  stormRatio,
  type StormResult,
  stormTable,
} from "./scenarios/storm.ts";

/**
 * fsync latency of the temp directory's disk (4 KiB write + `syncData`, up to
 * 50 times or 2 s): context for Roomcast's figures, whose every message is a
 * Deno KV commit on that disk.
 */
async function fsyncProbe(): Promise<LatencySummary> {
  const dir = await makeTempDir("roomcast-bench-fsync-");
  const samples = new Samples();
  try {
    const file = await Deno.open(`${dir}/probe`, { write: true, create: true });
    try {
      const block = new Uint8Array(4096);
      const stop = performance.now() + 2_000;
      for (let i = 0; i < 50 && performance.now() < stop; i++) {
        await file.write(block);
        const t = performance.now();
        await file.syncData();
        samples.push(performance.now() - t);
      }
    } finally {
      file.close();
    }
  } finally {
    await removeTempDir(dir);
  }
  return samples.summary();
}

/** The soft open-file limit (`ulimit -n` of a shell started like us), or null if unknown. */
async function openFileLimit(): Promise<number | null> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", "ulimit -n"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (text === "unlimited") return Number.MAX_SAFE_INTEGER;
    const n = Number(text);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** A generous ceiling on one scenario against one target, seconds (a hang guard only). */
function budgetSeconds(scenario: Scenario, o: Options): number {
  const connections = o.rooms * o.clients;
  switch (scenario) {
    case "idle":
      return 120 + o.sockets / 20 + o.hold;
    case "fanout":
      return 90 + o.warmup + o.duration + o.drain + connections / 20;
    case "ramp":
      return 90 + connections / 20 +
        MAX_RAMP_STEPS *
          (o.stepWarmup + 2 * o.stepWindow + o.stepDrain + 12);
    case "storm":
      return 240 + o.sockets / 20;
  }
}

/** What every scenario found, for the JSON line. */
interface Report {
  idle?: { results: IdleResult[]; ratioKiBPerSocket: number | null };
  fanout?: {
    results: FanoutResult[];
    ratio: ReturnType<typeof fanoutRatios>;
  };
  ramp?: {
    results: RampResult[];
    ratioBestDeliveredPerSec: number | null;
  };
  storm?: {
    results: StormResult[];
    ratioAllBackMs: number | null;
    /** See `bareMainThreadBound`: the bare server bounded by its own main thread, when its clients were the limit. */
    bareMainThreadBound: ReturnType<typeof bareMainThreadBound>;
  };
}

async function main(): Promise<number> {
  let options: Options;
  try {
    const parsed = parseArgs(Deno.args);
    if (parsed.help) {
      console.log(HELP);
      return 0;
    }
    options = parsed.options;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}\n\n${HELP}`);
      return 2;
    }
    throw err;
  }
  const o = options;

  // Every client socket is a file descriptor of this process, unless the
  // idle scenario spreads them over load processes (each holds at most
  // LOAD_PROCESS_MAX_SOCKETS, under the same limit).
  const spread = o.scenarios.includes("idle") && spreadsLoad(o);
  const sockets = Math.max(
    o.scenarios.includes("idle") || o.scenarios.includes("storm")
      ? o.sockets
      : 0,
    o.scenarios.some((s) => s === "fanout" || s === "ramp")
      ? o.rooms * o.clients
      : 0,
  );
  const perProcess = Math.max(
    o.scenarios.includes("idle")
      ? (spread ? Math.min(o.sockets, LOAD_PROCESS_MAX_SOCKETS) : o.sockets)
      : 0,
    o.scenarios.includes("storm") ? o.sockets : 0,
    o.scenarios.some((s) => s === "fanout" || s === "ramp")
      ? o.rooms * o.clients
      : 0,
  );
  const limit = await openFileLimit();
  const shortfall = limit === null ? null : fdShortfall(perProcess, limit);
  if (shortfall) {
    console.error(`bench: ${shortfall}`);
    return 2;
  }

  // Hard ceiling on the whole run, whatever hangs.
  const budget = o.scenarios.reduce(
    (total, s) => total + budgetSeconds(s, o) * o.targets.length,
    0,
  );
  const watchdog = setTimeout(() => {
    console.error("bench: watchdog fired; killing servers");
    killAllNow();
    Deno.exit(3);
  }, budget * 1000);
  const onSignal = () => {
    killAllNow();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const fsync = o.targets.includes("roomcast") && o.kv === "file"
    ? await fsyncProbe()
    : null;
  if (fsync) {
    log(
      `disk fsync (4 KiB): p50 ${fmt(fsync.p50, 2)} ms, p99 ${
        fmt(fsync.p99, 2)
      } ms, max ${fmt(fsync.max, 2)} ms`,
    );
  }
  const load = loadAverage();
  if (load !== null && load > navigator.hardwareConcurrency / 2) {
    log(
      `warning: load average ${load} on ${navigator.hardwareConcurrency} CPUs: ` +
        "other work on this host will skew the figures",
    );
  }
  log(
    `scenarios ${o.scenarios.join(", ")} × ${o.targets.join(", ")}; ` +
      `with the default flags ≈ ${
        o.scenarios.reduce((t, s) => t + EXPECTED_SECONDS[s], 0) *
        o.targets.length / 2
      } s`,
  );

  // Guests sign in once, on a helper instance, before any server is measured.
  const guests = o.targets.includes("roomcast") ? sockets : 0;
  const signInMs = await signInGuests(guests);
  if (guests) {
    log(
      `${guests} guests signed in on a helper instance in ${
        fmt(signInMs, 0)
      } ms`,
    );
  }

  const report: Report = {};
  const durationsS: Partial<Record<Scenario, number>> = {};
  const failures: { scenario: Scenario; target: Target; error: string }[] = [];
  let serverDied = false;
  const t0 = performance.now();
  try {
    for (const scenario of o.scenarios) {
      const ts = performance.now();
      const run = async <R extends { durationS: number; serverDied: boolean }>(
        fn: (target: Target, o: Options) => Promise<R>,
      ): Promise<R[]> => {
        const results: R[] = [];
        for (const target of o.targets) {
          const t = performance.now();
          try {
            const r = await fn(target, o);
            r.durationS = (performance.now() - t) / 1000;
            serverDied ||= r.serverDied;
            results.push(r);
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            console.error(`bench: ${scenario} ${target} failed: ${error}`);
            failures.push({ scenario, target, error });
          }
        }
        return results;
      };
      let table = "";
      if (scenario === "idle") {
        const results = await run(spread ? runIdleSpread : runIdle);
        report.idle = { results, ratioKiBPerSocket: idleRatio(results) };
        if (results.length) table = idleTable(results);
      } else if (scenario === "fanout") {
        const results = await run(runFanout);
        const ratio = fanoutRatios(results);
        report.fanout = { results, ratio };
        if (results.length) table = fanoutTable(results, ratio);
      } else if (scenario === "storm") {
        const results = await run(runStorm);
        report.storm = {
          results,
          ratioAllBackMs: stormRatio(results),
          bareMainThreadBound: bareMainThreadBound(results),
        };
        if (results.length) table = stormTable(results);
      } else {
        const results = await run(runRamp);
        report.ramp = {
          results,
          ratioBestDeliveredPerSec: rampRatio(results),
        };
        if (results.length) table = rampTable(results);
      }
      durationsS[scenario] = (performance.now() - ts) / 1000;
      if (table) {
        console.log(
          `\n== ${scenario} (${fmt(durationsS[scenario], 0)} s) ==\n${table}`,
        );
      }
      log(`${scenario} done in ${fmt(durationsS[scenario], 0)} s`);
    }
  } finally {
    killAllNow();
    clearTimeout(watchdog);
  }
  const totalS = (performance.now() - t0) / 1000;
  if (fsync && o.scenarios.some((s) => s !== "idle")) {
    console.log(
      `\ndisk fsync (4 KiB) p50 ${fmt(fsync.p50, 2)} ms, p99 ${
        fmt(fsync.p99, 2)
      } ms: every Roomcast message is a KV commit on this disk`,
    );
  }
  const headline = (target: Target) => ({
    idleKiBPerSocket: report.idle?.results.find((r) => r.target === target)
      ?.rssKiB.perSocket ?? null,
    fanoutDeliveredPerSec:
      report.fanout?.results.find((r) => r.target === target)
        ?.deliveredPerSec ?? null,
    rampBestDeliveredPerSec:
      report.ramp?.results.find((r) => r.target === target)?.best
        ?.deliveredPerSec ?? null,
    stormAllBackMs: report.storm?.results.find((r) => r.target === target)
      ?.allBackMs ?? null,
  });
  const summary = {
    roomcast: o.targets.includes("roomcast") ? headline("roomcast") : null,
    bare: o.targets.includes("bare") ? headline("bare") : null,
    ratio: {
      idleKiBPerSocket: report.idle?.ratioKiBPerSocket ?? null,
      fanoutDeliveredPerSec: report.fanout?.ratio?.deliveredPerSec ?? null,
      rampBestDeliveredPerSec: report.ramp?.ratioBestDeliveredPerSec ?? null,
      stormAllBackMs: report.storm?.ratioAllBackMs ?? null,
    },
  };
  console.log(
    `\nduration ${fmt(totalS, 0)} s (${
      Object.entries(durationsS).map(([s, d]) => `${s} ${fmt(d, 0)} s`).join(
        ", ",
      )
    })`,
  );
  console.log(JSON.stringify(
    {
      bench: "roomcast",
      deno: Deno.version.deno,
      cpus: navigator.hardwareConcurrency,
      loadAverage: load,
      options: {
        ...o,
        senders: sendersPerRoom(o),
      },
      diskFsyncMs: fsync,
      guestSignIn: { guests, ms: signInMs },
      summary,
      scenarios: report,
      durationsS: { ...durationsS, total: totalS },
      failures,
    },
    round,
  ));
  return failures.length || serverDied ? 1 : 0;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(err);
    killAllNow();
  }
  // Exit explicitly: no stray socket or timer may keep the run alive.
  Deno.exit(code);
}

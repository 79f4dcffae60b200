/**
 * idle, spread over processes: the same measurement as `idle.ts` when one
 * process cannot hold every socket. The `nofile` limit is per process (hard
 * 20,000 on the machine measured), so 50,000 sockets need several server
 * processes on one port (`--processes`: `SO_REUSEPORT`, Roomcast with
 * `REUSE_PORT=1` and the redis layer on one KV file; the bare server the
 * same number of processes) and several load processes
 * (`bench/load_process.ts`), each under the limit and each from its own
 * source addresses on 127.0.0.0/8, so no address pair runs out of ephemeral
 * ports (`bench/spread.ts`). Both targets get the same load processes, the
 * same sockets from the same addresses, and the same method:
 *
 * 1. probe sockets connect and close, {@link PROBES_PER_PROCESS} per server
 *    process (the kernel spreads them, so every process is very likely
 *    warmed), a settle, RSS "before" = the sum of the server processes'
 *    `VmRSS`;
 * 2. every load process opens its sockets, each waiting for its `welcome`
 *    (connect time: from the first request to the last load process done);
 * 3. RSS summed until it settles: memory per socket = (after − before) /
 *    sockets opened; redis-server's RSS is shown, not counted (as in idle);
 * 4. the hold, then the open sockets are counted;
 * 5. liveness: one message per broadcast group (a room; on the bare server,
 *    which has no layer between processes, a room within one process, as its
 *    welcome names), sent by the first load process with a socket in it,
 *    must reach every open socket of the group in every load process.
 *
 * @module
 */

import { closeAll, connectAll, Tally } from "../client.ts";
import {
  cpuMeter,
  log,
  makeTempDir,
  removeTempDir,
  reportAndHold,
  rssKiB,
  Samples,
  sleep,
  sum,
} from "../common.ts";
import { LoadProcess, type LoadSpec } from "../load.ts";
import type { Options, Target } from "../options.ts";
import { clientHeaders, startTarget } from "../server.ts";
import {
  livenessSenders,
  LOAD_PROCESS_MAX_SOCKETS,
  loadProcessesFor,
  spreadSockets,
} from "../spread.ts";
import {
  IDLE_CONNECT_CONCURRENCY,
  IDLE_WELCOME_TIMEOUT_MS,
  type IdleResult,
  LIVENESS_TIMEOUT_MS,
  SETTLE_MS,
  stableRss,
} from "./idle.ts";

/** Probe sockets per server process before RSS "before" (missing one process: < 0.2 % with 3). */
export const PROBES_PER_PROCESS = 8;
/** Polling of the load processes' tallies during the liveness check. */
const LIVENESS_POLL_MS = 100;

/**
 * Whether the idle scenario spreads its sockets over load processes: with
 * several server processes, a number of load processes asked for, or more
 * sockets than one process holds.
 */
export function spreadsLoad(o: Options): boolean {
  return o.processes > 1 || o.loadProcesses !== "auto" ||
    o.sockets > LOAD_PROCESS_MAX_SOCKETS;
}

/**
 * Longest wait for a load process to open `n` sockets: every welcome may
 * take its whole timeout, `concurrency` at a time, plus a minute.
 */
function connectTimeoutMs(n: number, concurrency: number): number {
  return 60_000 + Math.ceil(n / concurrency) * IDLE_WELCOME_TIMEOUT_MS;
}

/** Adds `b`'s counts into `a`. */
function addCounts(a: Map<string, number>, b: Record<string, number>): void {
  for (const [k, n] of Object.entries(b)) a.set(k, (a.get(k) ?? 0) + n);
}

/** Starts `target`, spreads, opens, measures, holds and checks the sockets, stops everything. */
export async function runIdleSpread(
  target: Target,
  o: Options,
): Promise<IdleResult> {
  const processes = loadProcessesFor(o.sockets, o.loadProcesses);
  const slices = spreadSockets(o.sockets, processes);
  // As many sockets in flight per server process as the one-process run has.
  const concurrency = Math.max(
    1,
    Math.ceil(IDLE_CONNECT_CONCURRENCY * o.processes / processes),
  );
  const d = await startTarget(target, o, { scenario: "idle" });
  log(
    `idle ${d.label}: ${o.sockets} sockets over ${o.rooms} rooms from ${processes} load processes, ${slices.length} source addresses (${
      slices.map((s) => `${s.address} ×${s.count}`).join(", ")
    })`,
  );
  const tmp = await makeTempDir("roomcast-bench-load-");
  const loads: LoadProcess[] = [];
  try {
    const headers = await clientHeaders(d, o.sockets);
    for (let p = 0; p < PROBES_PER_PROCESS * d.servers.length; p++) {
      const probe = { tally: new Tally(0, 1) };
      await closeAll(
        await connectAll(
          () => d.wsUrl("bench-probe"),
          [headers[0]],
          1,
          probe,
          1,
          [],
        ),
      );
    }
    // The load processes start (and load their specs) before "before".
    const wsBase = d.wsUrl("");
    for (let p = 0; p < processes; p++) {
      const mine = slices.filter((s) => s.process === p);
      if (!mine.length) continue;
      const spec: LoadSpec = {
        wsBase,
        rooms: o.rooms,
        size: o.size,
        concurrency,
        welcomeTimeoutMs: IDLE_WELCOME_TIMEOUT_MS,
        slices: mine,
        headers: mine.flatMap((s) => headers.slice(s.first, s.first + s.count)),
      };
      const path = `${tmp}/load-${p}.json`;
      await Deno.writeTextFile(path, JSON.stringify(spec));
      loads.push(await LoadProcess.start(path));
    }
    await sleep(SETTLE_MS);
    const rssBefore = d.rssKiB();
    const redisBefore = d.redis ? rssKiB(d.redis.process.pid) : null;

    const cpu = cpuMeter(d.pids, () => loads.map((l) => l.pid));
    const t = performance.now();
    const connects = await Promise.all(
      loads.map((l, i) =>
        l.request(
          { cmd: "connect" },
          connectTimeoutMs(
            sum(slices.filter((s) => s.process === i).map((s) => s.count)),
            concurrency,
          ),
        )
      ),
    );
    const connectMs = performance.now() - t;
    const connectCpu = cpu();
    const opened = sum(connects.map((c) => c.opened));
    const connectErrors = new Map<string, number>();
    for (const c of connects) addCounts(connectErrors, c.errors);
    const { rss: rssAfter, ms: settleMs } = await stableRss(() => d.rssKiB());
    const redisAfter = d.redis ? rssKiB(d.redis.process.pid) : null;
    log(
      `${opened}/${o.sockets} sockets open in ${
        connectMs.toFixed(0)
      } ms; RSS of ${d.servers.length} server processes ${rssBefore} → ${rssAfter} KiB (settled in ${
        settleMs.toFixed(0)
      } ms)`,
    );
    const restCpu = cpuMeter(d.pids);
    await reportAndHold(connectErrors, o.hold);
    const restCpuPct = restCpu().serverCpuPct;
    const statuses = await Promise.all(
      loads.map((l) => l.request({ cmd: "status" })),
    );
    const openAfterHold = sum(statuses.map((s) => s.open));
    const rssAfterHold = d.rssKiB();

    // Liveness: one message per broadcast group (a room; on the bare server a
    // room within one process) must reach every open socket of the group.
    const { sends, members } = livenessSenders(statuses.map((s) => s.groups));
    await Promise.all(loads.map((l) => l.request({ cmd: "arm" })));
    let messages = 0;
    let expected = 0;
    const lt = performance.now();
    for (const [i, l] of loads.entries()) {
      if (!sends[i].length) continue;
      const reply = await l.request({ cmd: "send", groups: sends[i] });
      for (const [g, n] of Object.entries(reply.sent)) {
        messages += n;
        expected += n * members[g];
      }
    }
    let tallies = await Promise.all(
      loads.map((l) => l.request({ cmd: "tally" })),
    );
    while (
      sum(tallies.map((x) => x.delivered)) < expected &&
      performance.now() - lt < LIVENESS_TIMEOUT_MS
    ) {
      await sleep(LIVENESS_POLL_MS);
      tallies = await Promise.all(
        loads.map((l) => l.request({ cmd: "tally" })),
      );
    }
    const livenessMs = performance.now() - lt;
    const delivered = sum(tallies.map((x) => x.delivered));
    // Sender and receiver may be different load processes: their latencies
    // are on the wall clock they share.
    const latencies = new Samples();
    for (const x of tallies) {
      for (const ms of x.latenciesMs) latencies.push(ms);
    }
    log(
      `after ${o.hold} s: ${openAfterHold}/${opened} still open; ` +
        `liveness ${delivered}/${expected} deliveries in ${
          livenessMs.toFixed(0)
        } ms`,
    );
    const serverDied = d.exited;
    const closes = new Map<string, number>();
    const otherErrors = new Map<string, number>();
    for (const s of statuses) {
      addCounts(closes, s.unexpectedCloses);
      addCounts(otherErrors, s.otherErrors);
    }
    for (const x of tallies) {
      addCounts(closes, x.unexpectedCloses);
      addCounts(otherErrors, x.otherErrors);
      if (x.rateLimited) {
        addCounts(otherErrors, { rate_limited: x.rateLimited });
      }
    }
    const ok = opened === o.sockets && openAfterHold === o.sockets &&
      expected === o.sockets && delivered === o.sockets && !serverDied;
    return {
      target,
      layer: d.layer,
      ok,
      rooms: o.rooms,
      serverProcesses: d.servers.length,
      loadProcesses: loads.length,
      sourceAddresses: slices.length,
      socketsRequested: o.sockets,
      socketsOpened: opened,
      connectErrors: Object.fromEntries(connectErrors),
      openAfterHold,
      holdS: o.hold,
      connectMs,
      connectCpu,
      restCpuPct,
      // Each load process has its own loop; their lag is not sampled (n/a).
      connectLoopLagMs: { max: NaN, mean: NaN },
      unexpectedClosesAtS: null,
      presenceFramesConnecting: sum(connects.map((c) => c.presenceFrames)),
      rssKiB: {
        before: rssBefore,
        after: rssAfter,
        afterHold: rssAfterHold,
        perSocket: rssBefore === null || rssAfter === null || opened === 0
          ? null
          : (rssAfter - rssBefore) / opened,
        settleMs,
        redis: d.redis ? { before: redisBefore, after: redisAfter } : null,
      },
      liveness: {
        messages,
        expected,
        delivered,
        latencyMs: latencies.summary(),
        ms: livenessMs,
      },
      unexpectedCloses: Object.fromEntries(closes),
      otherErrors: Object.fromEntries(otherErrors),
      serverMetrics: null,
      serverDied,
      durationS: 0, // set by the caller, stop included
    };
  } finally {
    // Servers first: they close every socket themselves; then the load processes exit.
    await d.stop();
    await Promise.all(loads.map((l) => l.stop()));
    await removeTempDir(tmp);
  }
}

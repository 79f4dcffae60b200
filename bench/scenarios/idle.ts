/**
 * idle: memory per idle socket, and proof that many sockets stay up at once.
 *
 * For each target: `--sockets` (10,000) sockets spread evenly over `--rooms`
 * (20) rooms. Roomcast clients are each their own guest (signed in through
 * `POST /api/session/guest`, 50 at a time, on a separate helper instance
 * before the run: see `signInGuests` in `bench/server.ts`), so the default
 * `MAX_SOCKETS_PER_USER` applies unchanged and no sign-in is in the measured
 * server's memory. Then:
 *
 * 1. one probe socket connects and closes (lazy module loading and JIT of the
 *    WebSocket path are not per-socket memory), a settle, RSS "before"
 *    (`VmRSS` of `/proc/<pid>/status`);
 * 2. every socket opens, 100 at a time, each waiting for its `welcome`;
 * 3. RSS is sampled every 250 ms until two samples differ by < 1 % (at most
 *    5 s): RSS "after"; memory per socket = (after − before) / sockets opened;
 * 4. the sockets are held `--hold` (10) s and must all still be open;
 * 5. liveness: one message in each room, sent by one of its sockets, must
 *    reach every socket of that room (deliveries expected = sockets open).
 *
 * Only the server's RSS is measured; its V8 heap cannot be read from outside.
 * The client process holds every socket, so the run checks `ulimit -n` first
 * (`fdShortfall` in `bench/decide.ts`).
 *
 * @module
 */

import {
  BenchClient,
  closeAll,
  connectAll,
  connectErrorKey,
  Tally,
  warmUpWithProbe,
} from "../client.ts";
import {
  count,
  type CpuFigures,
  cpuMeter,
  fmt,
  lagMonitor,
  type LatencySummary,
  log,
  type LoopLag,
  ratio,
  reportAndHold,
  rssKiB,
  sleep,
  sum,
  textTable,
} from "../common.ts";
import { rssStable } from "../decide.ts";
import type { Options, Target } from "../options.ts";
import { clientHeaders, serverMetrics, startTarget } from "../server.ts";

/** Sockets opened at once. */
export const IDLE_CONNECT_CONCURRENCY = 100;
/**
 * Longest wait for one socket's `welcome`: longer than elsewhere, because
 * joining a room of hundreds (presence state, diffs to every member) slows as
 * rooms fill; a socket that still times out is counted, not retried.
 */
export const IDLE_WELCOME_TIMEOUT_MS = 30_000;
/** Pause after the probe socket closed, before RSS "before". */
export const SETTLE_MS = 1_000;
/** RSS sampling while it settles after the connects… */
const RSS_SAMPLE_MS = 250;
/** …until two samples differ by less than this… */
const RSS_TOLERANCE = 0.01;
/** …or this long at most. */
const RSS_STABLE_MAX_MS = 5_000;
/** Longest wait for the liveness messages to reach every socket. */
export const LIVENESS_TIMEOUT_MS = 15_000;
/** Issue target for roomcast/bare KiB per socket. */
export const IDLE_RATIO_TARGET = 1.25;
/** Issue 18's target for it with the servers spread over processes (50,000 sockets on one machine). */
export const SPREAD_IDLE_RATIO_TARGET = 1.1;

/** Server CPU µs per socket opened while connecting, or null. */
export function cpuPerConnectUs(r: IdleResult): number | null {
  const pct = r.connectCpu.serverCpuPct;
  return pct === null || r.socketsOpened === 0
    ? null
    : (pct / 100) * r.connectMs * 1000 / r.socketsOpened;
}

/** The idle scenario against one target. */
export interface IdleResult {
  target: Target;
  layer: string | null;
  /** Every socket opened, stayed open through the hold and got its room's message. */
  ok: boolean;
  rooms: number;
  /** Server processes on the one port (`--processes`). */
  serverProcesses: number;
  /** Processes holding the client sockets (0: the bench process itself). */
  loadProcesses: number;
  /** Source addresses the sockets came from (127.0.0.1 alone when 1). */
  sourceAddresses: number;
  socketsRequested: number;
  socketsOpened: number;
  /** Connects that failed, by error message. */
  connectErrors: Record<string, number>;
  openAfterHold: number;
  holdS: number;
  connectMs: number;
  /** CPU while the sockets opened, % of one core. */
  connectCpu: CpuFigures;
  /**
   * Server CPU while the sockets were held and silent: what the server spends
   * at rest (session re-checks, heartbeats, presence) for this many sockets.
   */
  restCpuPct: number | null;
  /** This client's event-loop lag while the sockets opened (a busy client reads late). */
  connectLoopLagMs: LoopLag;
  /** Seconds after the first connect of the first and last unexpected close, or null. */
  unexpectedClosesAtS: [number, number] | null;
  /** `presence` frames the clients received while connecting (Roomcast's join diffs). */
  presenceFramesConnecting: number;
  rssKiB: {
    before: number | null;
    after: number | null;
    afterHold: number | null;
    perSocket: number | null;
    /** How long RSS took to settle after the last connect (capped). */
    settleMs: number;
    /** redis-server's VmRSS before and after (not in the figures above), or null. */
    redis: { before: number | null; after: number | null } | null;
  };
  liveness: {
    messages: number;
    expected: number;
    delivered: number;
    latencyMs: LatencySummary;
    ms: number;
  };
  unexpectedCloses: Record<string, number>;
  otherErrors: Record<string, number>;
  serverMetrics: Record<string, unknown> | null;
  serverDied: boolean;
  durationS: number;
}

/** Samples the server's RSS until it settles; returns the last sample. */
export async function stableRss(
  read: () => number | null,
): Promise<{ rss: number | null; ms: number }> {
  const start = performance.now();
  let prev = read();
  while (prev !== null && performance.now() - start < RSS_STABLE_MAX_MS) {
    await sleep(RSS_SAMPLE_MS);
    const cur = read();
    if (cur === null) return { rss: null, ms: performance.now() - start };
    if (rssStable(prev, cur, RSS_TOLERANCE)) {
      return { rss: cur, ms: performance.now() - start };
    }
    prev = cur;
  }
  return { rss: prev, ms: performance.now() - start };
}

/** Starts `target`, opens, measures, holds and checks the sockets, stops everything. */
export async function runIdle(target: Target, o: Options): Promise<IdleResult> {
  const d = await startTarget(target, o, { scenario: "idle" });
  log(`idle ${d.label}: ${o.sockets} sockets over ${o.rooms} rooms`);
  const opened: BenchClient[] = [];
  try {
    const headers = await clientHeaders(d, o.sockets);

    await warmUpWithProbe(d.wsUrl, headers[0], SETTLE_MS);
    const rssBefore = d.rssKiB();
    const redisBefore = d.redis ? rssKiB(d.redis.process.pid) : null;

    const tally = new Tally(0, o.rooms);
    tally.measuring = true;
    const sink = { tally };
    const connectErrors = new Map<string, number>();
    const cpu = cpuMeter(d.pids);
    const lag = lagMonitor();
    const t = performance.now();
    const clients = (await connectAll(
      d.wsUrl,
      headers,
      o.rooms,
      sink,
      IDLE_CONNECT_CONCURRENCY,
      opened,
      (_i, err) => {
        const key = connectErrorKey(err);
        connectErrors.set(key, (connectErrors.get(key) ?? 0) + 1);
      },
      IDLE_WELCOME_TIMEOUT_MS,
    )).filter((c): c is BenchClient => c !== undefined);
    const connectMs = performance.now() - t;
    const connectCpu = cpu();
    const connectLoopLag = lag();
    tally.measuring = false;
    const { rss: rssAfter, ms: settleMs } = await stableRss(() => d.rssKiB());
    const redisAfter = d.redis ? rssKiB(d.redis.process.pid) : null;
    log(
      `${clients.length}/${o.sockets} sockets open in ${
        connectMs.toFixed(0)
      } ms; RSS ${rssBefore} → ${rssAfter} KiB (settled in ${
        settleMs.toFixed(0)
      } ms)`,
    );
    const restCpu = cpuMeter(d.pids);
    await reportAndHold(connectErrors, o.hold);
    const restCpuPct = restCpu().serverCpuPct;
    const openAfterHold = clients.filter((c) => c.open).length;
    const rssAfterHold = d.rssKiB();

    // Liveness: one message per room must reach every open socket of it.
    const live = new Tally(1, o.rooms);
    sink.tally = live;
    const members = new Array(o.rooms).fill(0);
    const senders: BenchClient[] = [];
    for (const c of clients) {
      if (!c.open) continue;
      members[c.room]++;
      senders[c.room] ??= c;
    }
    const lt = performance.now();
    for (const sender of senders) {
      if (sender?.sendBench("m", 1, 0, o.size)) live.sent[sender.room]++;
    }
    const expected = () => live.expected((r) => members[r]);
    while (
      live.delivered < expected() &&
      performance.now() - lt < LIVENESS_TIMEOUT_MS
    ) {
      await sleep(20);
    }
    const livenessMs = performance.now() - lt;
    log(
      `after ${o.hold} s: ${openAfterHold}/${clients.length} still open; ` +
        `liveness ${live.delivered}/${expected()} deliveries in ${
          livenessMs.toFixed(0)
        } ms`,
    );
    const metrics = await serverMetrics(d);
    const serverDied = d.exited;
    const closes = new Map(tally.unexpectedCloses);
    for (const [code, n] of live.unexpectedCloses) {
      closes.set(code, (closes.get(code) ?? 0) + n);
    }
    const otherErrors = new Map(tally.otherErrors);
    for (const [code, n] of live.otherErrors) {
      otherErrors.set(code, (otherErrors.get(code) ?? 0) + n);
    }
    if (live.warmupRateLimited || sum(live.rateLimited)) {
      otherErrors.set(
        "rate_limited",
        live.warmupRateLimited + sum(live.rateLimited),
      );
    }
    const ok = clients.length === o.sockets && openAfterHold === o.sockets &&
      live.delivered === o.sockets && !serverDied;
    return {
      target,
      layer: d.layer,
      ok,
      rooms: o.rooms,
      serverProcesses: d.servers.length,
      loadProcesses: 0,
      sourceAddresses: 1,
      socketsRequested: o.sockets,
      socketsOpened: clients.length,
      connectErrors: Object.fromEntries(connectErrors),
      openAfterHold,
      holdS: o.hold,
      connectMs,
      connectCpu,
      restCpuPct,
      connectLoopLagMs: connectLoopLag,
      unexpectedClosesAtS:
        tally.firstUnexpectedCloseAt || live.firstUnexpectedCloseAt
          ? [
            ((tally.firstUnexpectedCloseAt || live.firstUnexpectedCloseAt) -
              t) / 1000,
            (Math.max(tally.lastUnexpectedCloseAt, live.lastUnexpectedCloseAt) -
              t) / 1000,
          ]
          : null,
      presenceFramesConnecting: tally.presenceFrames,
      rssKiB: {
        before: rssBefore,
        after: rssAfter,
        afterHold: rssAfterHold,
        perSocket: rssBefore === null || rssAfter === null ||
            clients.length === 0
          ? null
          : (rssAfter - rssBefore) / clients.length,
        settleMs,
        redis: d.redis ? { before: redisBefore, after: redisAfter } : null,
      },
      liveness: {
        messages: sum(live.sent),
        expected: expected(),
        delivered: live.delivered,
        latencyMs: live.latencies.summary(),
        ms: livenessMs,
      },
      unexpectedCloses: Object.fromEntries(closes),
      otherErrors: Object.fromEntries(otherErrors),
      serverMetrics: metrics,
      serverDied,
      durationS: 0, // set by the caller, stop included
    };
  } finally {
    // Stop the server first: it closes every socket itself, much faster than
    // 10,000 client closes each answered one by one.
    for (const c of opened) c.closing = true;
    await d.stop();
    await closeAll(opened);
  }
}

/** roomcast ÷ bare KiB per socket, when both ran. */
export function idleRatio(results: IdleResult[]): number | null {
  const rc = results.find((r) => r.target === "roomcast");
  const bare = results.find((r) => r.target === "bare");
  if (!rc || !bare) return null;
  return ratio(rc.rssKiB.perSocket, bare.rssKiB.perSocket);
}

const label = (r: { target: string; layer: string | null }) =>
  r.layer ? `${r.target}/${r.layer}` : r.target;

/** The human-readable idle table: one column per target. */
export function idleTable(results: IdleResult[]): string {
  const rows: string[][] = [
    ["idle", ...results.map(label)],
    ...(results.some((r) => r.serverProcesses > 1 || r.loadProcesses > 0)
      ? [
        [
          "server processes (one port)",
          ...results.map((r) => count(r.serverProcesses)),
        ],
        [
          "load processes / addresses",
          ...results.map((r) =>
            `${count(r.loadProcesses)} / ${count(r.sourceAddresses)}`
          ),
        ],
      ]
      : []),
    ["sockets requested", ...results.map((r) => count(r.socketsRequested))],
    ["sockets opened", ...results.map((r) => count(r.socketsOpened))],
    [
      `still open after hold`,
      ...results.map((r) => `${count(r.openAfterHold)} (${r.holdS} s)`),
    ],
    ["connect ms", ...results.map((r) => fmt(r.connectMs, 0))],
    [
      "sockets/s connecting",
      ...results.map((r) => fmt(r.socketsOpened / (r.connectMs / 1000), 0)),
    ],
    [
      "CPU % connecting: server",
      ...results.map((r) => fmt(r.connectCpu.serverCpuPct, 0)),
    ],
    [
      "                  client",
      ...results.map((r) => fmt(r.connectCpu.clientCpuPct, 0)),
    ],
    [
      "                  other",
      ...results.map((r) => fmt(r.connectCpu.otherCpuPct, 0)),
    ],
    [
      "server CPU µs per connect",
      ...results.map((r) => fmt(cpuPerConnectUs(r), 0)),
    ],
    [
      "server CPU % at rest (the hold)",
      ...results.map((r) => fmt(r.restCpuPct, 1)),
    ],
    [
      "client loop lag max ms",
      ...results.map((r) => fmt(r.connectLoopLagMs.max, 0)),
    ],
    [
      "presence frames connecting",
      ...results.map((r) => count(r.presenceFramesConnecting)),
    ],
    ["server RSS before KiB", ...results.map((r) => count(r.rssKiB.before))],
    ["server RSS after KiB", ...results.map((r) => count(r.rssKiB.after))],
    [
      "server RSS after hold KiB",
      ...results.map((r) => count(r.rssKiB.afterHold)),
    ],
    ["RSS settled in ms", ...results.map((r) => fmt(r.rssKiB.settleMs, 0))],
    ...(results.some((r) => r.rssKiB.redis)
      ? [[
        "redis-server RSS KiB (not counted)",
        ...results.map((r) =>
          r.rssKiB.redis
            ? `${count(r.rssKiB.redis.before)} → ${count(r.rssKiB.redis.after)}`
            : "—"
        ),
      ]]
      : []),
    ["KiB per socket", ...results.map((r) => fmt(r.rssKiB.perSocket, 1))],
    [
      "liveness deliveries",
      ...results.map((r) =>
        `${count(r.liveness.delivered)}/${count(r.liveness.expected)}`
      ),
    ],
    [
      "liveness p99 / max ms",
      ...results.map((r) =>
        `${fmt(r.liveness.latencyMs.p99, 1)} / ${
          fmt(r.liveness.latencyMs.max, 1)
        }`
      ),
    ],
    ["duration s", ...results.map((r) => fmt(r.durationS, 0))],
    [
      "all open, held, live",
      ...results.map((r) => r.ok ? "yes" : "NO"),
    ],
  ];
  const out = [textTable(rows)];
  const rr = idleRatio(results);
  if (rr !== null) {
    const target = results.some((r) => r.serverProcesses > 1)
      ? SPREAD_IDLE_RATIO_TARGET
      : IDLE_RATIO_TARGET;
    out.push(
      "",
      `idle roomcast/bare KiB per socket ×${
        fmt(rr, 2)
      } (issue target ≤ ${target}×: ${rr <= target ? "met" : "NOT met"})`,
    );
  }
  const notes: string[] = [];
  for (const r of results) {
    const extra: string[] = [];
    if (Object.keys(r.connectErrors).length) {
      extra.push(`connect errors ${JSON.stringify(r.connectErrors)}`);
    }
    if (Object.keys(r.unexpectedCloses).length) {
      const at = r.unexpectedClosesAtS;
      extra.push(
        `unexpected closes by code ${JSON.stringify(r.unexpectedCloses)}` +
          (at
            ? ` (from ${fmt(at[0], 1)} s to ${
              fmt(at[1], 1)
            } s after the first connect)`
            : ""),
      );
    }
    if (Object.keys(r.otherErrors).length) {
      extra.push(`error frames ${JSON.stringify(r.otherErrors)}`);
    }
    if (r.openAfterHold < r.socketsOpened) {
      extra.push(
        `${r.socketsOpened - r.openAfterHold} sockets closed during the hold`,
      );
    }
    if (r.liveness.delivered < r.liveness.expected) {
      extra.push(
        `liveness: ${
          r.liveness.expected - r.liveness.delivered
        } deliveries missing`,
      );
    }
    if (r.rssKiB.settleMs >= RSS_STABLE_MAX_MS) {
      extra.push("RSS had not settled within 5 s");
    }
    const closes = r.serverMetrics?.closesByCode as
      | Record<string, number>
      | undefined;
    const abnormal = Object.entries(closes ?? {}).filter(([code]) =>
      code !== "1000"
    );
    if (abnormal.length) {
      extra.push(
        `server saw closes by code ${
          JSON.stringify(Object.fromEntries(abnormal))
        }`,
      );
    }
    const drops = r.serverMetrics?.drops;
    if (drops && Object.keys(drops).length) {
      extra.push(`server drops ${JSON.stringify(drops)}`);
    }
    if (r.serverDied) extra.push("THE SERVER EXITED DURING THE RUN");
    if (extra.length) notes.push(`${label(r)}: ${extra.join("; ")}`);
  }
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}

/**
 * fanout: R rooms × C clients, S senders per room sending chat messages at a
 * fixed total rate (by default few enough per sender to stay within
 * Roomcast's 2 msgs/s per connection): a warm-up, the measured window, then a
 * drain until every expected delivery arrived or a timeout.
 *
 * Measured at every receiving client:
 * - delivered msgs/s: deliveries (one message reaching one socket) divided by
 *   the time from the first measured send to the last delivery;
 * - latency p50/p99/max, from the send time embedded in the text, and per
 *   second of send time in the JSON `timeline`;
 * - loss: expected deliveries − received, where expected = (sent −
 *   `rate_limited`) × C per room; `rate_limited` replies are counted apart;
 * - server RSS before and after connecting (memory per socket, with 25
 *   sockets per room); server, client and other processes' CPU during the
 *   window (figures from a busy host are flagged).
 *
 * @module
 */

import {
  type BenchClient,
  closeAll,
  connectAll,
  pace,
  Tally,
  warmUpWithProbe,
} from "../client.ts";
import {
  cpuMeter,
  fmt,
  type LatencySummary,
  log,
  ratio,
  Samples,
  sleep,
  sum,
  textTable,
} from "../common.ts";
import {
  DEFAULT_SENDER_RATE,
  type Options,
  sendersPerRoom,
  type Target,
} from "../options.ts";
import { clientHeaders, serverMetrics, startTarget } from "../server.ts";

/** Sockets opened at once. */
const CONNECT_CONCURRENCY = 50;
/** Pause before reading RSS so allocation bursts settle a little. */
const SETTLE_MS = 500;

/** One second of the measured window, by send time. */
export interface TimelineSecond {
  /** Seconds since the window opened. */
  s: number;
  /** Deliveries of messages sent in that second. */
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** What one fanout run measured against one target. */
export interface FanoutResult {
  target: Target;
  layer: string | null;
  rooms: number;
  clientsPerRoom: number;
  connections: number;
  sendersPerRoom: number;
  rate: number;
  duration: number;
  /** Measured-window messages sent (all rooms). */
  sent: number;
  rateLimited: number;
  /** (sent − rate_limited) × clients, per room, summed. */
  expected: number;
  delivered: number;
  lost: number;
  /** Deliveries (one message to one socket) per second. */
  deliveredPerSec: number;
  offeredPerSec: number;
  latencyMs: LatencySummary;
  rssKiB: {
    before: number | null;
    connected: number | null;
    after: number | null;
    perSocket: number | null;
  };
  /** CPU use over the measured window and drain, % of one core. */
  serverCpuPct: number | null;
  clientCpuPct: number | null;
  /** Everything else on the host (other processes, steal): noise. */
  otherCpuPct: number | null;
  /** Latency by second of send time. */
  timeline: TimelineSecond[];
  /** `presence` frames received during the window (join/leave diffs, sweeps). */
  presenceFrames: number;
  drainMs: number;
  connectMs: number;
  warmupReceived: number;
  warmupRateLimited: number;
  otherErrors: Record<string, number>;
  resyncs: number;
  badFrames: number;
  unexpectedCloses: Record<string, number>;
  sendFailures: number;
  /** Roomcast's `/metrics` at the end (closes by code, drops by reason). */
  serverMetrics: Record<string, unknown> | null;
  /** The server exited during the run (crash or kill): the figures are void. */
  serverDied: boolean;
  /** Wall-clock seconds, start to stop. */
  durationS: number;
}

/** Latency per second of send time: shows stalls and periodic work. */
function timeline(tally: Tally, start: number): TimelineSecond[] {
  const buckets: Samples[] = [];
  for (let i = 0; i < tally.latencies.length; i++) {
    const s = Math.max(0, Math.floor((tally.sentAt.at(i) - start) / 1000));
    (buckets[s] ??= new Samples()).push(tally.latencies.at(i));
  }
  return Array.from(buckets, (b, s) => {
    const { p50, p99, max } = b?.summary() ??
      { p50: null, p99: null, max: null };
    return { s, n: b?.length ?? 0, p50, p99, max };
  });
}

/** Starts `target`, runs the fanout scenario, stops everything. */
export async function runFanout(
  target: Target,
  o: Options,
): Promise<FanoutResult> {
  const senders = sendersPerRoom(o);
  const connections = o.rooms * o.clients;
  const perSender = o.rate / o.rooms / senders;
  const d = await startTarget(target, o, { scenario: "fanout" });
  log(
    `fanout ${d.label}: ${o.rooms} rooms × ${o.clients} clients, ` +
      `${senders} sender(s)/room, ${o.rate} msgs/s for ${o.duration} s` +
      (o.reactions > 0 ? `, ${o.reactions} % reactions` : ""),
  );
  if (target === "roomcast" && perSender > DEFAULT_SENDER_RATE) {
    log(
      `warning: ${
        perSender.toFixed(2)
      } msgs/s per sender is over the server's ` +
        `${DEFAULT_SENDER_RATE}/s limit: expect rate_limited replies`,
    );
  }
  const clients: BenchClient[] = [];
  try {
    // One guest per client (signed in on a helper instance, see signInGuests).
    const headers = await clientHeaders(d, connections);

    await warmUpWithProbe(d.wsUrl, headers[0], SETTLE_MS);
    const rssBefore = d.server.rssKiB();
    const tally = new Tally(0, o.rooms);
    const sink = { tally };
    const t = performance.now();
    const connected = await connectAll(
      d.wsUrl,
      headers,
      o.rooms,
      sink,
      CONNECT_CONCURRENCY,
      clients,
    );
    const connectMs = performance.now() - t;
    await sleep(SETTLE_MS);
    const rssConnected = d.server.rssKiB();
    log(
      `${connections} sockets open in ${connectMs.toFixed(0)} ms; ` +
        `RSS ${rssBefore} → ${rssConnected} KiB`,
    );

    // Senders interleaved across rooms: room 0 sender 0, room 1 sender 0, ...
    const sendList: BenchClient[] = [];
    for (let s = 0; s < senders; s++) {
      for (let r = 0; r < o.rooms; r++) {
        sendList.push(connected[s * o.rooms + r]);
      }
    }

    if (o.warmup > 0) {
      log(`warm-up ${o.warmup} s`);
      await pace(
        sendList,
        o.rate,
        o.warmup,
        "w",
        0,
        o.size,
        tally,
        o.reactions,
      );
      await sleep(200);
    }
    log(`measuring ${o.duration} s`);
    const cpu = cpuMeter(d.pids);
    const measureStart = performance.now();
    tally.measuring = true;
    await pace(
      sendList,
      o.rate,
      o.duration,
      "m",
      0,
      o.size,
      tally,
      o.reactions,
    );
    const measureEnd = performance.now();

    // Drain: until every accepted message reached every socket of its room.
    const members = () => o.clients;
    const deadline = measureEnd + o.drain * 1000;
    while (
      tally.delivered < tally.expected(members) &&
      performance.now() < deadline
    ) {
      await sleep(20);
    }
    const drainEnd = performance.now();
    tally.measuring = false;
    const cpuFigures = cpu();
    const rssAfter = d.server.rssKiB();
    const serverDied = d.server.exited;

    const sent = sum(tally.sent);
    const rateLimited = sum(tally.rateLimited);
    const expected = tally.expected(members);
    const delivered = tally.delivered;
    const activeS =
      (Math.max(measureEnd, tally.lastDeliveryAt) - measureStart) / 1000;
    return {
      target,
      layer: d.layer,
      rooms: o.rooms,
      clientsPerRoom: o.clients,
      connections,
      sendersPerRoom: senders,
      rate: o.rate,
      duration: o.duration,
      sent,
      rateLimited,
      expected,
      delivered,
      lost: expected - delivered,
      deliveredPerSec: delivered / activeS,
      offeredPerSec: (sent * o.clients) / ((measureEnd - measureStart) / 1000),
      latencyMs: tally.latencies.summary(),
      rssKiB: {
        before: rssBefore,
        connected: rssConnected,
        after: rssAfter,
        perSocket: rssBefore === null || rssConnected === null
          ? null
          : (rssConnected - rssBefore) / connections,
      },
      ...cpuFigures,
      timeline: timeline(tally, measureStart),
      presenceFrames: tally.presenceFrames,
      drainMs: drainEnd - measureEnd,
      connectMs,
      warmupReceived: tally.warmupReceived,
      warmupRateLimited: tally.warmupRateLimited,
      otherErrors: Object.fromEntries(tally.otherErrors),
      resyncs: tally.resyncs,
      badFrames: tally.badFrames,
      unexpectedCloses: Object.fromEntries(tally.unexpectedCloses),
      sendFailures: tally.sendFailures,
      serverMetrics: await serverMetrics(d),
      serverDied,
      durationS: 0, // set by the caller, stop included
    };
  } finally {
    await closeAll(clients);
    await d.stop();
  }
}

/** roomcast ÷ bare for the headline fanout figures. */
export interface FanoutRatios {
  deliveredPerSec: number | null;
  rssPerSocket: number | null;
  p50: number | null;
  p99: number | null;
  serverCpu: number | null;
}

/** roomcast ÷ bare, when both ran. */
export function fanoutRatios(results: FanoutResult[]): FanoutRatios | null {
  const rc = results.find((r) => r.target === "roomcast");
  const bare = results.find((r) => r.target === "bare");
  if (!rc || !bare) return null;
  return {
    deliveredPerSec: ratio(rc.deliveredPerSec, bare.deliveredPerSec),
    rssPerSocket: ratio(rc.rssKiB.perSocket, bare.rssKiB.perSocket),
    p50: ratio(rc.latencyMs.p50, bare.latencyMs.p50),
    p99: ratio(rc.latencyMs.p99, bare.latencyMs.p99),
    serverCpu: ratio(rc.serverCpuPct, bare.serverCpuPct),
  };
}

/** The second of send time with the highest p99, as `p99 (@s)`. */
function worstSecond(r: FanoutResult): string {
  let worst: TimelineSecond | null = null;
  for (const t of r.timeline) {
    if (t.p99 !== null && (worst === null || t.p99 > worst.p99!)) worst = t;
  }
  return worst ? `${fmt(worst.p99, 1)} (@${worst.s})` : "n/a";
}

const label = (r: { target: string; layer: string | null }) =>
  r.layer ? `${r.target}/${r.layer}` : r.target;

/** Notes on anything that makes figures doubtful (errors, closes, a busy host). */
export function anomalies(r: FanoutResult): string[] {
  const extra = [
    r.warmupRateLimited ? `${r.warmupRateLimited} rate_limited in warm-up` : "",
    Object.keys(r.otherErrors).length
      ? `errors ${JSON.stringify(r.otherErrors)}`
      : "",
    Object.keys(r.unexpectedCloses).length
      ? `unexpected closes ${JSON.stringify(r.unexpectedCloses)}`
      : "",
    r.resyncs ? `${r.resyncs} resync frames` : "",
    r.badFrames ? `${r.badFrames} unrecognized frames` : "",
    r.sendFailures ? `${r.sendFailures} sends skipped (socket not open)` : "",
  ].filter(Boolean);
  if (r.serverDied) extra.push("THE SERVER EXITED DURING THE RUN");
  if (r.latencyMs.n !== r.delivered) {
    extra.push(
      `latency samples (${r.latencyMs.n}) ≠ deliveries (${r.delivered})`,
    );
  }
  if (r.otherCpuPct !== null && r.otherCpuPct > 50) {
    extra.push(
      `other processes used ${fmt(r.otherCpuPct, 0)}% CPU during the window: ` +
        "figures are skewed, rerun on a quiet host",
    );
  }
  return extra;
}

/** The human-readable fanout table: one column per target. */
export function fanoutTable(
  results: FanoutResult[],
  ratios: FanoutRatios | null,
): string {
  const rows: string[][] = [
    ["fanout", ...results.map(label)],
    ["sockets", ...results.map((r) => String(r.connections))],
    ["senders/room", ...results.map((r) => String(r.sendersPerRoom))],
    ["sent msgs (window)", ...results.map((r) => String(r.sent))],
    ["offered deliveries/s", ...results.map((r) => fmt(r.offeredPerSec, 0))],
    ["delivered msgs/s", ...results.map((r) => fmt(r.deliveredPerSec, 0))],
    ["latency p50 ms", ...results.map((r) => fmt(r.latencyMs.p50, 2))],
    ["latency p99 ms", ...results.map((r) => fmt(r.latencyMs.p99, 2))],
    ["latency max ms", ...results.map((r) => fmt(r.latencyMs.max, 2))],
    ["worst 1-s p99 ms (at s)", ...results.map(worstSecond)],
    ["expected deliveries", ...results.map((r) => String(r.expected))],
    ["delivered", ...results.map((r) => String(r.delivered))],
    ["lost", ...results.map((r) => String(r.lost))],
    ["rate_limited", ...results.map((r) => String(r.rateLimited))],
    [
      "presence frames (window)",
      ...results.map((r) => String(r.presenceFrames)),
    ],
    ["server RSS before KiB", ...results.map((r) => fmt(r.rssKiB.before, 0))],
    [
      "server RSS connected KiB",
      ...results.map((r) => fmt(r.rssKiB.connected, 0)),
    ],
    ["server RSS after KiB", ...results.map((r) => fmt(r.rssKiB.after, 0))],
    ["RSS per socket KiB", ...results.map((r) => fmt(r.rssKiB.perSocket, 1))],
    ["server CPU %", ...results.map((r) => fmt(r.serverCpuPct, 0))],
    ["client CPU %", ...results.map((r) => fmt(r.clientCpuPct, 0))],
    ["other processes CPU %", ...results.map((r) => fmt(r.otherCpuPct, 0))],
    ["drain ms", ...results.map((r) => fmt(r.drainMs, 0))],
  ];
  const out = [textTable(rows)];
  if (ratios) {
    out.push("");
    out.push(
      `fanout roomcast/bare: delivered msgs/s ×${
        fmt(ratios.deliveredPerSec, 3)
      }, ` +
        `RSS per socket ×${fmt(ratios.rssPerSocket, 2)}, ` +
        `p50 latency ×${fmt(ratios.p50, 2)}, p99 latency ×${
          fmt(ratios.p99, 2)
        }, ` +
        `server CPU ×${fmt(ratios.serverCpu, 2)}`,
    );
  }
  const notes: string[] = [];
  for (const r of results) {
    const extra = anomalies(r);
    if (extra.length) notes.push(`${label(r)}: ${extra.join("; ")}`);
  }
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}

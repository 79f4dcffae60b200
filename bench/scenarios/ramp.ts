/**
 * ramp: the highest delivered msgs/s (deliveries: one message reaching one
 * socket) a target sustains with p99 latency under `--p99-limit` (250 ms) and
 * no loss.
 *
 * The server starts once per target and R rooms × C clients (20 × 25) connect
 * once. Then the offered rate (messages per second, all rooms) steps up from
 * `--start-rate` (200) by `--step-factor` (× 1.5) while steps pass; after the
 * first failing step it bisects `--bisect` times (2) between the last pass and
 * the first fail, and stops (or at `--max-rate`). Every client of a room
 * sends, round robin across rooms and clients, so no one socket is the
 * bottleneck.
 *
 * Each step: `--step-warmup` (1 s) unmeasured, the measured window
 * (`--step-window`, 5 s), a drain until every expected delivery arrived or
 * `--step-drain` (3 s), then a quiet period so leftovers do not reach the next
 * step. Messages carry their step id and are counted per step (another step's
 * are `stray`). A step passes if p99 < limit, nothing is lost, no socket
 * closed, no `resync` or `error` frame came, ≥ 97 % of the deliveries arrived
 * within window + drain, and the client managed to offer the rate
 * (`judgeStep` in `bench/decide.ts`). Sockets the server closed are reopened
 * before the next step.
 *
 * Roomcast runs with `RATE_LIMIT_BURST=100000` and
 * `RATE_LIMIT_PER_SECOND=100000` for the ramp only, so its per-connection
 * flood limit (20 burst, 2/s by default) is not what ends the ramp.
 *
 * @module
 */

import { BenchClient, closeAll, connectAll, pace, Tally } from "../client.ts";
import {
  count,
  cpuMeter,
  fmt,
  type LatencySummary,
  log,
  ratio,
  sleep,
  sum,
  textTable,
} from "../common.ts";
import {
  judgeStep,
  loadGeneratorNote,
  MIN_IN_TIME_FRACTION,
  nextStep,
  type RampStop,
  type StepKind,
  type StepOutcome,
} from "../decide.ts";
import type { Options, Target } from "../options.ts";
import {
  clientHeaders,
  type Deployment,
  serverMetrics,
  startTarget,
} from "../server.ts";

/** Roomcast's flood limit during the ramp: high enough never to bind. */
export const RAMP_RATE_LIMIT = 100_000;
/** Extra Roomcast environment for the ramp. */
export const RAMP_ENV: Record<string, string> = {
  RATE_LIMIT_BURST: String(RAMP_RATE_LIMIT),
  RATE_LIMIT_PER_SECOND: String(RAMP_RATE_LIMIT),
};
/** Sockets opened at once. */
const CONNECT_CONCURRENCY = 50;
/** After the drain: the next step waits until no benchmark frame came for this long… */
const QUIET_MS = 500;
/** …or this long at most. */
const QUIESCE_MAX_MS = 10_000;
/** Poll interval while draining. */
const POLL_MS = 20;
/** Pause before every step, so the server settles (GC, buffers) after the last. */
const STEP_PAUSE_MS = 500;
/**
 * A failed step during which other processes used more CPU than this (% of
 * one core) is repeated once: on a shared 2-core host, someone else's burst
 * must not end the ramp.
 */
const NOISY_OTHER_CPU_PCT = 50;
/** Server CPU (% of one core) under which a failing step was not CPU-bound. */
const SERVER_BOUND_CPU_PCT = 60;
/**
 * Issue targets for roomcast/bare best delivered msgs/s: issue 18 asks for
 * 0.75× (an earlier issue asked 0.6×, aiming at 0.8×).
 */
export const RAMP_RATIO_TARGET = 0.75;
/** What to aim at beyond {@link RAMP_RATIO_TARGET}. */
export const RAMP_RATIO_AIM = 0.8;

/** One ramp step. */
export interface RampStep {
  step: number;
  kind: StepKind;
  /** Offered rate asked for, messages per second (all rooms). */
  rate: number;
  /** Messages actually sent per second of the window. */
  offeredMsgsPerSec: number;
  /** Offered deliveries per second (sends × members). */
  offeredPerSec: number;
  /** Deliveries within window + drain per second, from the first send to the last such delivery. */
  deliveredPerSec: number;
  sent: number;
  expected: number;
  /** Deliveries by the end of the drain. */
  inTime: number;
  /** Deliveries after the drain (during the quiet period). */
  late: number;
  lost: number;
  /** Earlier steps' messages that arrived during this one. */
  stray: number;
  latencyMs: LatencySummary;
  serverCpuPct: number | null;
  clientCpuPct: number | null;
  otherCpuPct: number | null;
  rssKiB: number | null;
  unexpectedCloses: Record<string, number>;
  resyncs: number;
  errors: Record<string, number>;
  /** Clients reopened before this step (the server had closed them). */
  reopened: number;
  /** Failed while other processes were busy, so it was run again (the next step). */
  repeated: boolean;
  drainMs: number;
  passed: boolean;
  reasons: string[];
}

/** The ramp against one target. */
export interface RampResult {
  target: Target;
  layer: string | null;
  rooms: number;
  clientsPerRoom: number;
  connections: number;
  /** Environment the server got for the ramp (Roomcast's rate limits). */
  serverEnv: Record<string, string>;
  p99LimitMs: number;
  steps: RampStep[];
  /** The passing step with the most delivered msgs/s, or null if none passed. */
  best: {
    step: number;
    rate: number;
    deliveredPerSec: number;
    p99: number | null;
  } | null;
  stoppedBy: RampStop | "server-died";
  connectMs: number;
  serverMetrics: Record<string, unknown> | null;
  serverDied: boolean;
  durationS: number;
}

/** `error` frames of a step by code, `rate_limited` (warm-up included) among them. */
function errorsOf(t: Tally): Record<string, number> {
  const out = Object.fromEntries(t.otherErrors);
  const limited = t.warmupRateLimited + sum(t.rateLimited);
  if (limited) out.rate_limited = limited;
  return out;
}

/** Starts `target`, connects once, runs the steps, stops everything. */
export async function runRamp(target: Target, o: Options): Promise<RampResult> {
  const serverEnv = target === "roomcast" ? RAMP_ENV : {};
  const d = await startTarget(target, o, { scenario: "ramp", env: serverEnv });
  const connections = o.rooms * o.clients;
  log(
    `ramp ${d.label}: ${o.rooms} rooms × ${o.clients} clients, from ${o.startRate} msgs/s ×${o.stepFactor}` +
      (o.reactions > 0 ? `, ${o.reactions} % reactions` : "") +
      (target === "roomcast"
        ? `, RATE_LIMIT_BURST=RATE_LIMIT_PER_SECOND=${RAMP_RATE_LIMIT}`
        : ""),
  );
  const opened: BenchClient[] = [];
  try {
    const headers = await clientHeaders(d, connections);
    const sink = { tally: new Tally(0, o.rooms) };
    const t = performance.now();
    const clients = await connectAll(
      d.wsUrl,
      headers,
      o.rooms,
      sink,
      CONNECT_CONCURRENCY,
      opened,
    );
    const connectMs = performance.now() - t;
    log(`${connections} sockets open in ${connectMs.toFixed(0)} ms`);

    const steps: RampStep[] = [];
    const history: StepOutcome[] = [];
    let stoppedBy: RampResult["stoppedBy"];
    let step = 0;
    /** Reopens what the server closed, then runs and logs one step. */
    const attempt = async (rate: number, kind: StepKind) => {
      let reopened = 0;
      for (let i = 0; i < clients.length; i++) {
        const c = clients[i];
        if (c.open) continue;
        try {
          clients[i] = await BenchClient.connect(
            d.wsUrl(`bench-${c.room}`),
            headers[i],
            c.room,
            c.id,
            sink,
          );
          opened.push(clients[i]);
          reopened++;
        } catch (err) {
          log(`could not reopen ${c.id}: ${(err as Error).message}`);
        }
      }
      await sleep(STEP_PAUSE_MS);
      const r = await runStep(d, clients, sink, o, ++step, rate, kind);
      r.reopened = reopened;
      steps.push(r);
      log(
        `step ${r.step} (${r.kind}) ${r.rate} msgs/s: delivered ${
          fmt(r.deliveredPerSec, 0)
        }/s, p99 ${fmt(r.latencyMs.p99, 1)} ms, lost ${r.lost}, CPU server ${
          fmt(r.serverCpuPct, 0)
        } % client ${fmt(r.clientCpuPct, 0)} % other ${
          fmt(r.otherCpuPct, 0)
        } % → ${r.passed ? "pass" : `FAIL (${r.reasons.join("; ")})`}`,
      );
      return r;
    };
    for (;;) {
      const next = nextStep(history, o);
      if (next.done) {
        stoppedBy = next.reason;
        break;
      }
      if (d.server.exited) {
        stoppedBy = "server-died";
        break;
      }
      let r = await attempt(next.rate, next.kind);
      if (
        !r.passed && !d.server.exited && r.otherCpuPct !== null &&
        r.otherCpuPct > NOISY_OTHER_CPU_PCT
      ) {
        log(`step ${r.step} was noisy (other processes busy): repeating it`);
        r.repeated = true;
        r = await attempt(next.rate, next.kind);
      }
      history.push({ rate: r.rate, kind: r.kind, passed: r.passed });
    }
    let best: RampResult["best"] = null;
    for (const s of steps) {
      if (s.passed && (!best || s.deliveredPerSec > best.deliveredPerSec)) {
        best = {
          step: s.step,
          rate: s.rate,
          deliveredPerSec: s.deliveredPerSec,
          p99: s.latencyMs.p99,
        };
      }
    }
    return {
      target,
      layer: d.layer,
      rooms: o.rooms,
      clientsPerRoom: o.clients,
      connections,
      serverEnv,
      p99LimitMs: o.p99Limit,
      steps,
      best,
      stoppedBy,
      connectMs,
      serverMetrics: await serverMetrics(d),
      serverDied: d.server.exited,
      durationS: 0, // set by the caller, stop included
    };
  } finally {
    await closeAll(opened);
    await d.stop();
  }
}

/** One step: warm-up, window, drain, quiet period; then the figures and the verdict. */
async function runStep(
  d: Deployment,
  clients: BenchClient[],
  sink: { tally: Tally },
  o: Options,
  step: number,
  rate: number,
  kind: StepKind,
): Promise<RampStep> {
  // Members per room at the start of the step: what every message is owed.
  const members = new Array(o.rooms).fill(0);
  for (const c of clients) if (c.open) members[c.room]++;
  // Round robin over rooms first, then over each room's clients.
  const senders = clients.filter((c) => c.open);
  const tally = new Tally(step, o.rooms);
  sink.tally = tally;
  if (o.stepWarmup > 0) {
    await pace(
      senders,
      rate,
      o.stepWarmup,
      "w",
      step,
      o.size,
      tally,
      o.reactions,
    );
  }
  const cpu = cpuMeter(d.pids);
  tally.measuring = true;
  const start = performance.now();
  const made = await pace(
    senders,
    rate,
    o.stepWindow,
    "m",
    step,
    o.size,
    tally,
    o.reactions,
  );
  const end = performance.now();
  tally.deadline = end + o.stepDrain * 1000;
  const owed = () => tally.expected((r) => members[r]);
  while (tally.delivered < owed() && performance.now() < tally.deadline) {
    await sleep(POLL_MS);
  }
  const drainEnd = performance.now();
  const figures = cpu();
  // Leftovers must not reach the next step: wait for quiet.
  const quiesceEnd = drainEnd + QUIESCE_MAX_MS;
  while (
    tally.delivered < owed() && performance.now() < quiesceEnd &&
    performance.now() - Math.max(tally.lastBenchFrameAt, drainEnd) < QUIET_MS
  ) {
    await sleep(POLL_MS);
  }
  tally.measuring = false;
  const expected = owed();
  const inTime = sum(tally.received);
  const delivered = tally.delivered;
  const latencyMs = tally.latencies.summary();
  const unexpected = sum([...tally.unexpectedCloses.values()]);
  const windowS = (end - start) / 1000;
  const judgement = judgeStep({
    planned: Math.floor(rate * o.stepWindow),
    sent: made,
    windowS,
    plannedWindowS: o.stepWindow,
    expected,
    inTime,
    lost: expected - delivered,
    p99: latencyMs.p99,
    unexpectedCloses: unexpected,
    resyncs: tally.resyncs,
    errors: sum(Object.values(errorsOf(tally))),
    serverDied: d.server.exited,
  }, o.p99Limit);
  const sent = sum(tally.sent);
  return {
    step,
    kind,
    rate,
    offeredMsgsPerSec: sent / windowS,
    offeredPerSec: sum(tally.sent.map((s, r) => s * members[r])) / windowS,
    deliveredPerSec: inTime /
      ((Math.max(end, tally.lastDeliveryAt) - start) / 1000),
    sent,
    expected,
    inTime,
    late: tally.late,
    lost: expected - delivered,
    stray: tally.stray,
    latencyMs,
    ...figures,
    rssKiB: d.server.rssKiB(),
    unexpectedCloses: Object.fromEntries(tally.unexpectedCloses),
    resyncs: tally.resyncs,
    errors: errorsOf(tally),
    reopened: 0,
    repeated: false,
    drainMs: drainEnd - end,
    passed: judgement.passed,
    reasons: judgement.reasons,
  };
}

/** roomcast ÷ bare best delivered msgs/s, when both ran. */
export function rampRatio(results: RampResult[]): number | null {
  const rc = results.find((r) => r.target === "roomcast");
  const bare = results.find((r) => r.target === "bare");
  if (!rc || !bare) return null;
  return ratio(rc.best?.deliveredPerSec, bare.best?.deliveredPerSec);
}

const label = (r: { target: string; layer: string | null }) =>
  r.layer ? `${r.target}/${r.layer}` : r.target;

/** The human-readable ramp report: one table of steps per target, then the bests. */
export function rampTable(results: RampResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const rows: string[][] = [[
      `ramp ${label(r)}`,
      "offered msg/s",
      "offered deliv/s",
      "delivered/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "lost",
      "late",
      "srv CPU %",
      "cli CPU %",
      "oth CPU %",
      "verdict",
    ]];
    for (const s of r.steps) {
      rows.push([
        `${s.step} ${s.kind} ${s.rate}/s`,
        fmt(s.offeredMsgsPerSec, 0),
        count(s.offeredPerSec),
        count(s.deliveredPerSec),
        fmt(s.latencyMs.p50, 1),
        fmt(s.latencyMs.p99, 1),
        fmt(s.latencyMs.max, 0),
        String(s.lost),
        String(s.late),
        fmt(s.serverCpuPct, 0),
        fmt(s.clientCpuPct, 0),
        fmt(s.otherCpuPct, 0),
        s.passed
          ? "pass"
          : `FAIL${s.repeated ? " (noisy host, repeated)" : ""}: ${
            s.reasons.join("; ")
          }`,
      ]);
    }
    out.push(textTable(rows));
    const env = Object.entries(r.serverEnv).map(([k, v]) => `${k}=${v}`)
      .join(" ");
    out.push(
      `${
        label(r)
      }: ${r.connections} sockets (${r.rooms} × ${r.clientsPerRoom}), ` +
        `stopped: ${r.stoppedBy}, ${fmt(r.durationS, 0)} s` +
        (env ? `; server ran with ${env}` : ""),
    );
    const notes: string[] = [];
    const strays = sum(r.steps.map((s) => s.stray));
    if (strays) notes.push(`${strays} stray deliveries from earlier steps`);
    const reopened = sum(r.steps.map((s) => s.reopened));
    if (reopened) notes.push(`${reopened} sockets reopened between steps`);
    if (r.serverDied) notes.push("THE SERVER EXITED DURING THE RAMP");
    const firstFail = r.steps.find((s) => !s.passed && !s.repeated);
    const clientBound = firstFail && loadGeneratorNote(firstFail.clientCpuPct);
    if (clientBound) notes.push(`at the first failing step ${clientBound}`);
    else if (
      firstFail && firstFail.serverCpuPct !== null &&
      firstFail.serverCpuPct < SERVER_BOUND_CPU_PCT &&
      (firstFail.otherCpuPct ?? 0) <= NOISY_OTHER_CPU_PCT
    ) {
      notes.push(
        `at the first failing step the server used only ${
          fmt(firstFail.serverCpuPct, 0)
        } % CPU and the client ${
          fmt(firstFail.clientCpuPct, 0)
        } %: the limit is waiting somewhere (e.g. storage commits), not CPU`,
      );
    }
    const noisy = r.steps.filter((s) =>
      (s.otherCpuPct ?? 0) > NOISY_OTHER_CPU_PCT
    );
    if (noisy.length) {
      notes.push(
        `other processes used > ${NOISY_OTHER_CPU_PCT} % CPU in step(s) ${
          noisy.map((s) => s.step).join(", ")
        }: figures are skewed, rerun on a quiet host`,
      );
    }
    const drops = r.serverMetrics?.drops;
    if (drops && Object.keys(drops).length) {
      notes.push(`server drops ${JSON.stringify(drops)}`);
    }
    if (notes.length) out.push(`${label(r)}: ${notes.join("; ")}`);
    out.push("");
  }
  const bests = results.map((r) =>
    `${label(r)} ${
      r.best
        ? `${
          count(r.best.deliveredPerSec)
        } deliveries/s (${r.best.rate} msgs/s offered, p99 ${
          fmt(r.best.p99, 1)
        } ms)`
        : "none passed"
    }`
  );
  out.push(
    `ramp best (p99 < ${results[0]?.p99LimitMs} ms, no loss, ≥ ${
      100 * MIN_IN_TIME_FRACTION
    } % in time): ${bests.join("; ")}`,
  );
  const rr = rampRatio(results);
  if (rr !== null) {
    const bare = results.find((r) => r.target === "bare");
    out.push(
      `ramp roomcast/bare best delivered msgs/s ×${fmt(rr, 2)} ` +
        `(issue target ≥ ${RAMP_RATIO_TARGET}×, aim ${RAMP_RATIO_AIM}×: ${
          rr >= RAMP_RATIO_AIM
            ? "meets the aim"
            : rr >= RAMP_RATIO_TARGET
            ? "meets the target"
            : "BELOW the target"
        })` +
        (bare?.stoppedBy === "max-rate"
          ? "; bare reached --max-rate, so this ratio is an upper bound"
          : ""),
    );
  }
  return out.join("\n");
}

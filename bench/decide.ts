/**
 * The pure decisions of the benchmark: which rate the ramp offers next and
 * whether a step passed (`bench/scenarios/ramp.ts`), when RSS has settled and
 * whether the open-file limit allows the idle sockets
 * (`bench/scenarios/idle.ts`). Kept free of I/O so `tests/bench/run_test.ts`
 * can check them.
 *
 * @module
 */

/** Longest ramp, whatever the flags: a guard against a runaway plan. */
export const MAX_RAMP_STEPS = 25;
/** Share of a step's expected deliveries that must arrive within window + drain. */
export const MIN_IN_TIME_FRACTION = 0.97;
/** Share of the planned sends the client must manage within the window (else it, not the server, was the limit). */
export const MIN_OFFERED_FRACTION = 0.97;
/** Bisection stops once the last pass and the first fail are this close (ratio). */
const MIN_BISECT_GAP = 1.05;

/** How the ramp steps. */
export interface RampConfig {
  /** First offered rate, messages per second. */
  startRate: number;
  /** Next rate = last × factor while steps pass. */
  stepFactor: number;
  /** Highest offered rate tried. */
  maxRate: number;
  /** Bisections between the last pass and the first fail. */
  bisect: number;
}

/** `ramp`: rate × factor after a pass; `bisect`: between the last pass and first fail. */
export type StepKind = "ramp" | "bisect";

/** One step already run. */
export interface StepOutcome {
  rate: number;
  kind: StepKind;
  passed: boolean;
}

/** Why the ramp ended. */
export type RampStop =
  | "bisected"
  | "first-step-failed"
  | "max-rate"
  | "max-steps";

/** The next step to run, or why there is none. */
export type NextStep =
  | { done: false; rate: number; kind: StepKind }
  | { done: true; reason: RampStop };

/**
 * The next step after `history`: start at `startRate`; while every step
 * passes, multiply by `stepFactor` (capped at `maxRate`); after the first
 * failure, bisect up to `bisect` times between the highest pass and the
 * lowest failure above it. Rates are whole messages per second.
 */
export function nextStep(history: StepOutcome[], c: RampConfig): NextStep {
  if (history.length === 0) {
    return { done: false, rate: Math.round(c.startRate), kind: "ramp" };
  }
  if (history.length >= MAX_RAMP_STEPS) {
    return { done: true, reason: "max-steps" };
  }
  const passes = history.filter((h) => h.passed).map((h) => h.rate);
  const lo = passes.length ? Math.max(...passes) : null;
  const fails = history.filter((h) => !h.passed && (lo === null || h.rate > lo))
    .map((h) => h.rate);
  if (fails.length === 0 || history.every((h) => h.passed)) {
    const last = history[history.length - 1].rate;
    const next = Math.min(c.maxRate, Math.round(last * c.stepFactor));
    if (last >= c.maxRate || next <= last) {
      return { done: true, reason: "max-rate" };
    }
    return { done: false, rate: next, kind: "ramp" };
  }
  if (lo === null) return { done: true, reason: "first-step-failed" };
  const hi = Math.min(...fails);
  const bisections = history.filter((h) => h.kind === "bisect").length;
  const mid = Math.round((lo + hi) / 2);
  if (
    bisections >= c.bisect || hi / lo < MIN_BISECT_GAP || mid <= lo ||
    mid >= hi
  ) {
    return { done: true, reason: "bisected" };
  }
  return { done: false, rate: mid, kind: "bisect" };
}

/** What a step measured, as far as passing goes. */
export interface StepFigures {
  /** Planned sends in the window (rate × window). */
  planned: number;
  /** Sends made. */
  sent: number;
  /** Window length the sends actually took, and the one planned, seconds. */
  windowS: number;
  plannedWindowS: number;
  expected: number;
  /** Deliveries by the end of the drain. */
  inTime: number;
  /** Expected deliveries that never arrived. */
  lost: number;
  p99: number | null;
  unexpectedCloses: number;
  resyncs: number;
  /** `error` frames, `rate_limited` included. */
  errors: number;
  serverDied: boolean;
}

/** The verdict on one step and, when it failed, every reason. */
export interface Judgement {
  passed: boolean;
  reasons: string[];
}

/**
 * A step passes when p99 < `p99Limit`, nothing was lost, no socket closed
 * unexpectedly, no `resync` or `error` frame came, at least 97 % of the
 * expected deliveries arrived within the window and drain, and the client
 * managed to offer the rate (else the client, not the server, was the limit).
 */
export function judgeStep(f: StepFigures, p99Limit: number): Judgement {
  const reasons: string[] = [];
  if (f.serverDied) reasons.push("server exited");
  if (f.sent === 0 || f.expected === 0) reasons.push("nothing sent");
  if (f.p99 === null) reasons.push("no deliveries");
  else if (f.p99 >= p99Limit) {
    reasons.push(`p99 ${f.p99.toFixed(0)} ms ≥ ${p99Limit}`);
  }
  if (f.lost > 0) reasons.push(`lost ${f.lost}`);
  if (f.expected > 0 && f.inTime < MIN_IN_TIME_FRACTION * f.expected) {
    reasons.push(
      `in time ${(100 * f.inTime / f.expected).toFixed(1)} % < ${
        100 * MIN_IN_TIME_FRACTION
      } %`,
    );
  }
  if (f.unexpectedCloses > 0) reasons.push(`${f.unexpectedCloses} closes`);
  if (f.resyncs > 0) reasons.push(`${f.resyncs} resyncs`);
  if (f.errors > 0) reasons.push(`${f.errors} error frames`);
  const offered = f.windowS > 0 ? f.sent / f.windowS : 0;
  const planned = f.plannedWindowS > 0 ? f.planned / f.plannedWindowS : 0;
  if (planned > 0 && offered < MIN_OFFERED_FRACTION * planned) {
    reasons.push(
      `client offered ${(100 * offered / planned).toFixed(0)} % of the rate`,
    );
  }
  return { passed: reasons.length === 0, reasons };
}

/**
 * Client CPU (% of one core) at which the load generator itself may be the
 * limit: it shares the host's cores with the server, and a scenario's
 * clients (the storm's 10,000) live in one process.
 */
export const CLIENT_BOUND_CPU_PCT = 85;

/** True when clients at `clientCpuPct` % of a core may have limited the run. */
export function isClientBound(
  clientCpuPct: number | null,
): clientCpuPct is number {
  return clientCpuPct !== null && clientCpuPct >= CLIENT_BOUND_CPU_PCT;
}

/**
 * A note for a run whose load generator used `clientCpuPct` % of a core, when
 * that is enough to have limited the run ({@link isClientBound}); else null.
 *
 * @example
 * ```ts
 * loadGeneratorNote(92); // "the client used 92 % of a core: …"
 * loadGeneratorNote(60); // null
 * ```
 */
export function loadGeneratorNote(clientCpuPct: number | null): string | null {
  if (!isClientBound(clientCpuPct)) return null;
  return `the client used ${
    Math.round(clientCpuPct)
  } % of a core: the load generator shares the host and may be the limit`;
}

/** Two RSS samples are "stable" when they differ by less than `tolerance` (a fraction). */
export function rssStable(a: number, b: number, tolerance = 0.01): boolean {
  return Math.abs(b - a) < tolerance * Math.max(a, b);
}

/** The open-file limit needed for `sockets` client sockets plus the process's own files. */
export const FD_HEADROOM = 200;

/** A message telling the user to raise `ulimit -n`, or null when `limit` is enough. */
export function fdShortfall(sockets: number, limit: number): string | null {
  const need = sockets + FD_HEADROOM;
  if (limit >= need) return null;
  return `${sockets} sockets need an open-file limit of at least ${need}, ` +
    `but ulimit -n is ${limit}: raise it (e.g. \`ulimit -n ${
      Math.max(need, 20_000)
    }\` in this shell) or pass a smaller --sockets`;
}

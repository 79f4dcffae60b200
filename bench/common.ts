/**
 * Small shared pieces of the benchmark (`bench/run.ts`): timing helpers,
 * `/proc` readers for RSS and CPU, the registry of child processes and temp
 * directories that must not outlive the run, latency samples and formatting.
 *
 * @module
 */

/** The project root: where `main.ts` and `deno.json` live. */
export const ROOT = new URL("..", import.meta.url).pathname;
/** Only ever talk to this host. */
export const HOST = "127.0.0.1";

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return out;
}

/** `0, 1, …, n − 1`. */
export const range = (n: number): number[] =>
  Array.from({ length: n }, (_, i) => i);

/** Sum of `xs`. */
export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Progress line on stderr (stdout carries only the report). */
export function log(message: string): void {
  console.error(`[bench] ${message}`);
}

/** VmRSS of `pid` in KiB, or null off Linux. */
export function rssKiB(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU seconds of `pid` (all threads, or only `thread`), or null off Linux. */
export function cpuSeconds(pid: number, thread?: number): number | null {
  return statCpuSeconds(
    thread === undefined
      ? `/proc/${pid}/stat`
      : `/proc/${pid}/task/${thread}/stat`,
  );
}

/** User + system CPU seconds of the calling thread (a worker's own), or null off Linux. */
export function threadCpuSeconds(): number | null {
  return statCpuSeconds("/proc/thread-self/stat");
}

function statCpuSeconds(path: string): number | null {
  try {
    const stat = Deno.readTextFileSync(path);
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/**
 * Wall-clock milliseconds with sub-millisecond precision: the clock every
 * load process and thread shares, so a time taken in one can be compared with
 * one taken in another (`performance.now()` counts from each one's own start).
 */
export const sharedNow = (): number =>
  performance.timeOrigin + performance.now();

/** Busy CPU seconds of the whole host, all cores (steal included), or null. */
export function hostBusySeconds(): number | null {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const [, user, nice, system, , , irq, softirq, steal] = line.trim()
      .split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / USER_HZ;
  } catch {
    return null;
  }
}

/** The 1-minute load average, or null off Linux. */
export function loadAverage(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return null;
  }
}

/** CPU % (of one core) used by the server, this client and everything else over an interval. */
export interface CpuFigures {
  serverCpuPct: number | null;
  /**
   * The server processes' main threads alone (JavaScript runs there, so in
   * a CPU-bound run this is the limit; the rest is V8's collector helpers
   * and KV's thread, which run beside it).
   */
  serverMainCpuPct: number | null;
  clientCpuPct: number | null;
  /** Everything else on the host (other processes, steal): noise. */
  otherCpuPct: number | null;
}

/**
 * Starts a CPU meter over `pids` (the server under test and its helpers, e.g.
 * redis-server) and `clientPids` (the load generator: this process unless
 * told otherwise); calling the returned function gives the figures since.
 */
export function cpuMeter(
  pids: () => number[],
  clientPids: () => number[] = () => [Deno.pid],
): () => CpuFigures {
  const total = (of: () => number[], mainOnly = false) => () => {
    let seconds = 0;
    for (const pid of of()) {
      const s = cpuSeconds(pid, mainOnly ? pid : undefined);
      if (s === null) return null;
      seconds += s;
    }
    return seconds;
  };
  const server = total(pids);
  const serverMain = total(pids, true);
  const client = total(clientPids);
  const s0 = server();
  const m0 = serverMain();
  const c0 = client();
  const h0 = hostBusySeconds();
  const t0 = performance.now();
  return () => {
    const s1 = server();
    const m1 = serverMain();
    const c1 = client();
    const h1 = hostBusySeconds();
    const seconds = (performance.now() - t0) / 1000;
    const pct = (a: number | null, b: number | null) =>
      a === null || b === null || seconds <= 0
        ? null
        : (100 * (b - a)) / seconds;
    const serverCpuPct = pct(s0, s1);
    const clientCpuPct = pct(c0, c1);
    const hostPct = pct(h0, h1);
    return {
      serverCpuPct,
      serverMainCpuPct: pct(m0, m1),
      clientCpuPct,
      otherCpuPct:
        hostPct === null || serverCpuPct === null || clientCpuPct === null
          ? null
          : Math.max(0, hostPct - serverCpuPct - clientCpuPct),
    };
  };
}

/** Every live child, so an error, a signal or the watchdog can kill it. */
export const children = new Set<Deno.ChildProcess>();
/** Temp directories still to remove (the KV files). */
const tempDirs = new Set<string>();

/** A temp directory that {@link killAllNow} removes if the run dies. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory made by {@link makeTempDir}. */
export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Kills every child process and removes every temp directory, synchronously. */
export function killAllNow(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  children.clear();
  for (const dir of tempDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone */ }
  }
  tempDirs.clear();
}

/** Latency figures in ms. */
export interface LatencySummary {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** A growable Float64Array of latency samples. */
export class Samples {
  #data = new Float64Array(1_024);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }

  at(i: number): number {
    return this.#data[i];
  }

  /** Sample count, nearest-rank percentiles, max and mean (ms; nulls when empty). */
  summary(): LatencySummary {
    const n = this.length;
    if (n === 0) return { n, p50: null, p99: null, max: null, mean: null };
    const sorted = new Float64Array(n);
    sorted.set(this.#data.subarray(0, n));
    sorted.sort();
    const rank = (p: number) => sorted[Math.min(n - 1, Math.ceil(p * n) - 1)];
    let total = 0;
    for (let i = 0; i < n; i++) total += sorted[i];
    return {
      n,
      p50: rank(0.5),
      p99: rank(0.99),
      max: sorted[n - 1],
      mean: total / n,
    };
  }
}

/** A number for the table: fixed digits, or `n/a`. */
export const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? "n/a"
    : v.toFixed(digits);

/** A count with thousands separators. */
export const count = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? "n/a"
    : Math.round(v).toLocaleString("en-US");

/** `a / b`, or null when either is missing or `b` is 0. */
export const ratio = (
  a: number | null | undefined,
  b: number | null | undefined,
): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0
    ? null
    : a / b;

/** Lays out rows as a text table: first column left-aligned, the rest right-aligned. */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) =>
    Math.max(...rows.map((r) => (r[c] ?? "").length))
  );
  const line = (r: string[]) =>
    r.map((cell, c) =>
      c === 0 ? cell.padEnd(widths[c]) : (cell ?? "").padStart(widths[c])
    ).join("  ").trimEnd();
  const out = [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join("\n");
}

/** JSON.stringify replacer: non-integers to 2 decimals. */
export const round = (_key: string, v: unknown): unknown =>
  typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v;

/** How late this process's timers ran while a {@link lagMonitor} watched, ms. */
export interface LoopLag {
  max: number;
  mean: number;
}

/**
 * Watches this process's event loop (a 50 ms interval timer): a late timer
 * means the client itself was too busy to read its sockets promptly, so the
 * figures it measured include its own delay. Call the result to stop.
 */
export function lagMonitor(): () => LoopLag {
  const interval = 50;
  let last = performance.now();
  let max = 0;
  let total = 0;
  let n = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const lag = Math.max(0, now - last - interval);
    last = now;
    max = Math.max(max, lag);
    total += lag;
    n++;
  }, interval);
  return () => {
    clearInterval(timer);
    return { max, mean: n ? total / n : 0 };
  };
}

/**
 * After an idle scenario's sockets opened: logs the connect errors by kind
 * (if any), then holds the sockets open for `holdSeconds`.
 */
export async function reportAndHold(
  connectErrors: ReadonlyMap<string, number>,
  holdSeconds: number,
): Promise<void> {
  if (connectErrors.size) {
    log(`connect errors: ${JSON.stringify(Object.fromEntries(connectErrors))}`);
  }
  if (holdSeconds > 0) {
    log(`holding ${holdSeconds} s`);
    await sleep(holdSeconds * 1000);
  }
}

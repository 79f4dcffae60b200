/**
 * Fan-out benchmark: the real Roomcast server, and a bare Deno broadcast
 * server as the physical limit (`bench/bare_server.ts`), under R rooms × C
 * WebSocket clients.
 *
 * For each target it starts the server as a subprocess on 127.0.0.1 (for
 * Roomcast: a fresh KV file, a fixed session secret, `LOG_LEVEL=error`,
 * `CHANNEL_LAYER` from `--layer`), signs in one guest per client through
 * `POST /api/session/guest`, opens every socket and waits for its `welcome`,
 * then S senders per room (by default enough to stay within the server's
 * 2 msgs/s per connection) send chat messages at a fixed total rate: a
 * warm-up, then the measured window, then a drain until every expected
 * delivery arrived or a timeout.
 *
 * Measured at every receiving client (all clients live in this process, so one
 * monotonic clock stamps both ends):
 * - delivered msgs/s: deliveries (one message reaching one socket) divided by
 *   the time from the first measured send to the last delivery;
 * - latency p50/p99/max, from the send time embedded in the text, and per
 *   second of send time in the JSON `timeline`;
 * - loss: expected deliveries − received, where expected = (sent −
 *   `rate_limited`) × C per room; `rate_limited` replies are counted apart;
 * - server RSS (`/proc/<pid>/status`) before and after connecting, giving
 *   memory per socket; server, client and other processes' CPU during the
 *   window (figures from a busy host are flagged).
 *
 * Run: `deno task bench` (Roomcast then bare, default scenario, about 30 s),
 * or e.g. `deno task bench --target=roomcast --layer=broadcast --rate=500`.
 * `--help` lists every flag. Prints a table, then a one-line JSON summary as
 * the last line of stdout; progress goes to stderr. Exits non-zero if a
 * scenario failed.
 *
 * @module
 */

/** Fixed 40-character session secret for the benchmarked server. */
const BENCH_SECRET = "bench-secret-0123456789-abcdefghijklmnop";
/** The project root: where `main.ts` and `deno.json` live. */
const ROOT = new URL("..", import.meta.url).pathname;
/** Only ever talk to this host. */
const HOST = "127.0.0.1";
/** Sockets (or sign-ins) opened at once. */
const CONNECT_CONCURRENCY = 50;
const START_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 6_000;
/** Pause before reading RSS so allocation bursts settle a little. */
const SETTLE_MS = 500;
/** Roomcast's sustained per-connection rate (lib/chat/rate_limit.ts). */
const DEFAULT_SENDER_RATE = 2;

type Target = "roomcast" | "bare";

/** Command-line options. */
export interface Options {
  rooms: number;
  clients: number;
  /** Messages per second, all rooms together. */
  rate: number;
  /** Measured window, seconds. */
  duration: number;
  /** Unmeasured sending before the window, seconds. */
  warmup: number;
  /** Longest wait for outstanding deliveries after the window, seconds. */
  drain: number;
  /** Senders per room; `undefined` = computed from `rate` and `senderRate`. */
  senders: number | undefined;
  /** Highest per-sender rate when computing senders. */
  senderRate: number;
  /** Message text length, characters. */
  size: number;
  layer: string;
  /** Roomcast storage: a fresh KV file (default) or `:memory:` (diagnosis only). */
  kv: "file" | "memory";
  /** Directory for V8 tick logs of the servers (`node --prof-process` reads them). */
  profile: string | undefined;
  targets: Target[];
}

const HELP = `deno task bench [flags]   (or: deno run -A bench/run.ts [flags])

  --target=both|roomcast|bare  what to run (default both; both prints roomcast/bare)
  --layer=memory               Roomcast CHANNEL_LAYER: memory | broadcast | redis
  --kv=file                    Roomcast KV_PATH: file (fresh temp file) | memory (diagnosis)
  --rooms=20                   rooms
  --clients=25                 WebSocket clients per room (all receive)
  --rate=200                   messages/s sent in total, all rooms together
  --duration=10                measured window, seconds
  --warmup=2                   unmeasured sending first, seconds
  --drain=5                    max wait for outstanding deliveries, seconds
  --senders=auto               senders per room (auto: ceil(rate/rooms/sender-rate))
  --sender-rate=2              max msgs/s per sender for auto (server limit: 2/s, burst 20)
  --size=80                    message text length, characters
  --profile=DIR                write the servers' V8 tick logs to DIR/<target>.v8.log
                               (read them with: node --prof-process DIR/roomcast-memory.v8.log)
`;

class UsageError extends Error {}

/** Parses `--key=value` flags by hand (no std). */
export function parseArgs(args: string[]): Options {
  const raw = new Map<string, string>();
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      console.log(HELP);
      Deno.exit(0);
    }
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new UsageError(`unrecognized argument "${arg}"`);
    raw.set(m[1], m[2]);
  }
  const take = (key: string) => {
    const v = raw.get(key);
    raw.delete(key);
    return v;
  };
  const num = (key: string, fallback: number, min: number, max: number) => {
    const v = take(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`--${key} must be a number from ${min} to ${max}`);
    }
    return n;
  };
  const int = (key: string, fallback: number, min: number, max: number) => {
    const n = num(key, fallback, min, max);
    if (!Number.isInteger(n)) {
      throw new UsageError(`--${key} must be an integer`);
    }
    return n;
  };
  const target = take("target") ?? "both";
  if (!["both", "roomcast", "bare"].includes(target)) {
    throw new UsageError("--target must be both, roomcast or bare");
  }
  const layer = take("layer") ?? "memory";
  if (!["memory", "broadcast", "redis"].includes(layer)) {
    throw new UsageError("--layer must be memory, broadcast or redis");
  }
  const kv = take("kv") ?? "file";
  if (kv !== "file" && kv !== "memory") {
    throw new UsageError("--kv must be file or memory");
  }
  const sendersRaw = take("senders");
  const options: Options = {
    rooms: int("rooms", 20, 1, 10_000),
    clients: int("clients", 25, 1, 10_000),
    rate: num("rate", 200, 0.1, 1_000_000),
    duration: num("duration", 10, 0.5, 3_600),
    warmup: num("warmup", 2, 0, 600),
    drain: num("drain", 5, 0.1, 600),
    senderRate: num("sender-rate", DEFAULT_SENDER_RATE, 0.01, 1_000_000),
    size: int("size", 80, 40, 3_900),
    senders: undefined,
    layer,
    kv,
    profile: undefined,
    targets: target === "both" ? ["roomcast", "bare"] : [target as Target],
  };
  if (sendersRaw !== undefined && sendersRaw !== "auto") {
    const n = Number(sendersRaw);
    if (!Number.isInteger(n) || n < 1 || n > options.clients) {
      throw new UsageError(
        `--senders must be auto or an integer from 1 to --clients`,
      );
    }
    options.senders = n;
  }
  const profile = take("profile");
  if (profile !== undefined) {
    if (profile === "") throw new UsageError("--profile needs a directory");
    options.profile = profile.startsWith("/")
      ? profile
      : `${Deno.cwd()}/${profile}`;
  }
  if (raw.size > 0) {
    throw new UsageError(`unknown flag --${[...raw.keys()][0]}`);
  }
  return options;
}

/** Senders per room: given, or enough to keep each at or under `senderRate`. */
export function sendersPerRoom(o: Options): number {
  if (o.senders !== undefined) return o.senders;
  const perRoom = o.rate / o.rooms;
  return Math.min(o.clients, Math.max(1, Math.ceil(perRoom / o.senderRate)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` unless `promise` settles first; always clears its timer. */
async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: timed out after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(
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

/** VmRSS of `pid` in KiB, or null off Linux. */
function rssKiB(pid: number): number | null {
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

/** User + system CPU seconds of `pid` (all threads), or null off Linux. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole host, all cores (steal included), or null. */
function hostBusySeconds(): number | null {
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
function loadAverage(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return null;
  }
}

/** Every live child, so an error, a signal or the watchdog can kill it. */
const children = new Set<Deno.ChildProcess>();
/** Temp directories still to remove (the KV files). */
const tempDirs = new Set<string>();

async function makeTempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  tempDirs.add(dir);
  return dir;
}

async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Kills every server and removes every temp directory, synchronously. */
function killAllNow(): void {
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

/** A server under test, as a subprocess. */
class ServerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stderrTail: string[] = [];
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;
  port = 0;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    children.add(child);
    this.status = child.status.finally(() => {
      this.#exited = true;
      children.delete(child);
    });
    this.#drainStderr();
  }

  get pid(): number {
    return this.#child.pid;
  }

  get origin(): string {
    return `http://${HOST}:${this.port}`;
  }

  /** The last lines the server wrote to stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  /** Starts `script` with `env` and waits for its `Listening on` line. */
  static async start(
    script: string,
    env: Record<string, string>,
    denoFlags: string[] = [],
  ): Promise<ServerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...denoFlags, script],
      cwd: ROOT,
      env: { ...env, PORT: "0", HOSTNAME: HOST, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new ServerProcess(child);
    try {
      server.port = await withTimeout(
        server.#readPort(),
        START_TIMEOUT_MS,
        `starting ${script}`,
      );
    } catch (err) {
      await server.stop();
      throw new Error(`${(err as Error).message}\n${server.stderrTail}`);
    }
    return server;
  }

  async #readPort(): Promise<number> {
    const reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let buffer = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error("server exited before listening");
      buffer += value;
      const m = /Listening on http:\/\/[^/\s]+:(\d+)\//.exec(buffer);
      if (m) {
        // Keep draining so a chatty server never blocks on a full pipe.
        (async () => {
          try {
            while (!(await reader.read()).done) { /* discard */ }
          } catch { /* closed */ }
        })();
        return Number(m[1]);
      }
      if (buffer.length > 65_536) buffer = buffer.slice(-1_024);
    }
  }

  async #drainStderr(): Promise<void> {
    try {
      const lines = this.#child.stderr.pipeThrough(new TextDecoderStream());
      for await (const chunk of lines) {
        for (const line of chunk.split("\n")) {
          if (!line) continue;
          this.#stderrTail.push(line);
          if (this.#stderrTail.length > 20) this.#stderrTail.shift();
        }
      }
    } catch { /* closed */ }
  }

  /** True once the process has exited, for whatever reason. */
  get exited(): boolean {
    return this.#exited;
  }

  rssKiB(): number | null {
    return this.#exited ? null : rssKiB(this.pid);
  }

  cpuSeconds(): number | null {
    return this.#exited ? null : cpuSeconds(this.pid);
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    try {
      await withTimeout(this.status, STOP_TIMEOUT_MS, "stopping server");
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
      await withTimeout(this.status, STOP_TIMEOUT_MS, "killing server")
        .catch(() => {});
    }
  }
}

/** Signs in one guest; returns the `roomcast_session=...` cookie pair. */
async function signIn(origin: string, name: string): Promise<string> {
  const res = await fetch(`${origin}/api/session/guest`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`guest sign-in: ${res.status} ${body}`);
  const cookie = res.headers.getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith("roomcast_session="));
  if (!cookie) throw new Error("guest sign-in: no roomcast_session cookie");
  return cookie;
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
  #data = new Float64Array(65_536);
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
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    return {
      n,
      p50: rank(0.5),
      p99: rank(0.99),
      max: sorted[n - 1],
      mean: sum / n,
    };
  }
}

type Phase = "w" | "m";

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

/** Counters of one scenario, shared by all its clients. */
class Tally {
  readonly latencies = new Samples();
  /** Send time of each latency sample (same index), for the timeline. */
  readonly sentAt = new Samples();
  /** `presence` frames received during the measured window and drain. */
  presenceFrames = 0;
  measuring = false;
  /** Measured-window deliveries per room. */
  readonly received: number[];
  /** Measured-window sends per room. */
  readonly sent: number[];
  /** `rate_limited` replies to measured-window sends, per room. */
  readonly rateLimited: number[];
  warmupReceived = 0;
  warmupRateLimited = 0;
  otherErrors = new Map<string, number>();
  resyncs = 0;
  badFrames = 0;
  unexpectedCloses = new Map<number, number>();
  sendFailures = 0;
  lastDeliveryAt = 0;

  constructor(rooms: number) {
    this.received = new Array(rooms).fill(0);
    this.sent = new Array(rooms).fill(0);
    this.rateLimited = new Array(rooms).fill(0);
  }
}

/** One benchmark client: a real WebSocket in a room. */
class BenchClient {
  /** Phase of this client's last send, to attribute `rate_limited` replies. */
  lastPhase: Phase = "w";
  closing = false;
  readonly welcome: Promise<void>;
  readonly closed: Promise<void>;

  constructor(
    readonly socket: WebSocket,
    readonly room: number,
    readonly id: string,
    tally: Tally,
  ) {
    let welcomed: () => void;
    let failed: (err: Error) => void;
    this.welcome = new Promise<void>((resolve, reject) => {
      welcomed = resolve;
      failed = reject;
    });
    this.welcome.catch(() => {});
    this.closed = new Promise<void>((resolve) => {
      socket.addEventListener("close", (e: CloseEvent) => {
        if (!this.closing) {
          tally.unexpectedCloses.set(
            e.code,
            (tally.unexpectedCloses.get(e.code) ?? 0) + 1,
          );
        }
        failed(new Error(`socket closed (${e.code}) before welcome`));
        resolve();
      });
    });
    socket.addEventListener("error", () => {
      failed(new Error("socket error before welcome"));
    });
    socket.addEventListener("message", (e: MessageEvent) => {
      const now = performance.now();
      if (typeof e.data !== "string") {
        tally.badFrames++;
        return;
      }
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        tally.badFrames++;
        return;
      }
      switch (frame?.type) {
        case "message": {
          // Roomcast nests the stored message; the bare server relays ours as is.
          const text = frame.message?.text ?? frame.text;
          const [tag, phase, sentAt] = typeof text === "string"
            ? text.split(" ", 3)
            : [];
          if (tag !== "bench") {
            tally.badFrames++;
          } else if (phase === "m") {
            tally.received[room]++;
            tally.latencies.push(now - Number(sentAt));
            tally.sentAt.push(Number(sentAt));
            tally.lastDeliveryAt = now;
          } else {
            tally.warmupReceived++;
          }
          return;
        }
        case "welcome":
          welcomed();
          return;
        case "error":
          if (frame.code === "rate_limited") {
            if (this.lastPhase === "m") tally.rateLimited[room]++;
            else tally.warmupRateLimited++;
          } else {
            const code = String(frame.code);
            tally.otherErrors.set(code, (tally.otherErrors.get(code) ?? 0) + 1);
          }
          return;
        case "resync":
          tally.resyncs++;
          return;
        case "presence":
          if (tally.measuring) tally.presenceFrames++;
          return;
        default:
          return; // history pages etc.: not part of the measurement
      }
    });
  }

  /** Connects and waits for `welcome`. */
  static async connect(
    url: string,
    headers: Record<string, string>,
    room: number,
    id: string,
    tally: Tally,
  ): Promise<BenchClient> {
    // Deno's constructor takes `{ headers }`; the DOM lib only knows protocols.
    const socket = new WebSocket(url, { headers } as unknown as string[]);
    const client = new BenchClient(socket, room, id, tally);
    try {
      await withTimeout(
        client.welcome,
        CONNECT_TIMEOUT_MS,
        `welcome on ${url}`,
      );
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.socket.readyState === WebSocket.CLOSED) return;
    try {
      this.socket.close(1000, "bench over");
    } catch { /* closing */ }
    await withTimeout(this.closed, CLOSE_TIMEOUT_MS, "close").catch(() => {});
  }
}

/** What one scenario measured. */
export interface ScenarioResult {
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
  signInMs: number;
  connectMs: number;
  warmupReceived: number;
  warmupRateLimited: number;
  otherErrors: Record<string, number>;
  resyncs: number;
  badFrames: number;
  unexpectedCloses: Record<string, number>;
  sendFailures: number;
  /** The server exited during the run (crash or kill): the figures are void. */
  serverDied: boolean;
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

/** Sends `total` messages spread evenly over `seconds` across `senders`. */
async function pace(
  senders: BenchClient[],
  rate: number,
  seconds: number,
  phase: Phase,
  size: number,
  tally: Tally,
): Promise<void> {
  const total = Math.floor(rate * seconds);
  const start = performance.now();
  let k = 0;
  while (k < total) {
    const due = Math.min(
      total,
      Math.floor(((performance.now() - start) * rate) / 1000) + 1,
    );
    for (; k < due; k++) {
      const sender = senders[k % senders.length];
      if (sender.socket.readyState !== WebSocket.OPEN) {
        tally.sendFailures++;
        continue;
      }
      const head = `bench ${phase} ${
        performance.now().toFixed(3)
      } ${sender.id}`;
      const text = head.length >= size
        ? head
        : head + " " + "x".repeat(size - head.length - 1);
      sender.lastPhase = phase;
      sender.socket.send(JSON.stringify({
        type: "message",
        text,
        clientId: `${sender.id}-${phase}${k}`,
      }));
      if (phase === "m") tally.sent[sender.room]++;
    }
    if (k >= total) break;
    await sleep(Math.max(0, start + (k * 1000) / rate - performance.now()));
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

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

/** Starts `target`, runs the scenario, stops everything. */
async function runScenario(
  target: Target,
  o: Options,
): Promise<ScenarioResult> {
  const senders = sendersPerRoom(o);
  const layer = target === "roomcast" ? o.layer : null;
  const connections = o.rooms * o.clients;
  log(
    `${target}${
      layer ? ` (${layer} layer)` : ""
    }: ${o.rooms} rooms × ${o.clients} clients, ` +
      `${senders} sender(s)/room, ${o.rate} msgs/s for ${o.duration} s`,
  );
  const perSender = o.rate / o.rooms / senders;
  if (target === "roomcast" && perSender > DEFAULT_SENDER_RATE) {
    log(
      `warning: ${
        perSender.toFixed(2)
      } msgs/s per sender is over the server's ` +
        `${DEFAULT_SENDER_RATE}/s limit: expect rate_limited replies`,
    );
  }
  const tmp = await makeTempDir("roomcast-bench-");
  let server: ServerProcess | undefined;
  const clients: BenchClient[] = [];
  try {
    if (o.profile) await Deno.mkdir(o.profile, { recursive: true });
    const profile = o.profile
      ? [
        `--v8-flags=--prof,--no-logfile-per-isolate,--logfile=${o.profile}/${target}${
          layer ? `-${layer}` : ""
        }.v8.log`,
      ]
      : [];
    server = target === "roomcast"
      ? await ServerProcess.start("main.ts", {
        KV_PATH: o.kv === "file" ? `${tmp}/bench.kv` : ":memory:",
        SESSION_SECRET: BENCH_SECRET,
        LOG_LEVEL: "error",
        CHANNEL_LAYER: o.layer,
      }, profile)
      : await ServerProcess.start("bench/bare_server.ts", {}, profile);
    const origin = server.origin;
    const wsUrl = (room: string) =>
      `ws://${HOST}:${server!.port}/ws/chat/${room}`;
    log(`server pid ${server.pid} on ${origin}`);

    // Sign in (one guest per client), outside the RSS window.
    let t = performance.now();
    const cookies = target === "roomcast"
      ? await pool(
        Array.from({ length: connections }, (_, i) => i),
        CONNECT_CONCURRENCY,
        (i) => signIn(origin, `bench-${i}`),
      )
      : [];
    const signInMs = performance.now() - t;
    const headersFor = (i: number): Record<string, string> =>
      target === "roomcast" ? { cookie: cookies[i], origin } : { origin };

    // One probe socket first, so lazy module loading and JIT of the WebSocket
    // path are not counted as per-socket memory.
    const probeTally = new Tally(1);
    const probe = await BenchClient.connect(
      wsUrl("bench-probe"),
      headersFor(0),
      0,
      "probe",
      probeTally,
    );
    await probe.close();

    await sleep(SETTLE_MS);
    const rssBefore = server.rssKiB();
    const tally = new Tally(o.rooms);
    t = performance.now();
    const connected = await pool(
      Array.from({ length: connections }, (_, i) => i),
      CONNECT_CONCURRENCY,
      async (i) => {
        const room = i % o.rooms;
        const slot = Math.floor(i / o.rooms);
        const client = await BenchClient.connect(
          wsUrl(`bench-${room}`),
          headersFor(i),
          room,
          `r${room}c${slot}`,
          tally,
        );
        clients.push(client);
        return client;
      },
    );
    const connectMs = performance.now() - t;
    await sleep(SETTLE_MS);
    const rssConnected = server.rssKiB();
    log(
      `${connections} sockets open in ${connectMs.toFixed(0)} ms ` +
        `(sign-in ${
          signInMs.toFixed(0)
        } ms); RSS ${rssBefore} → ${rssConnected} KiB`,
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
      await pace(sendList, o.rate, o.warmup, "w", o.size, tally);
      await sleep(200);
    }
    log(`measuring ${o.duration} s`);
    const serverCpu0 = server.cpuSeconds();
    const clientCpu0 = cpuSeconds(Deno.pid);
    const hostCpu0 = hostBusySeconds();
    const measureStart = performance.now();
    tally.measuring = true;
    await pace(sendList, o.rate, o.duration, "m", o.size, tally);
    const measureEnd = performance.now();

    // Drain: until every accepted message reached every socket of its room.
    const expectedNow = () =>
      sum(tally.sent.map((s, r) => (s - tally.rateLimited[r]) * o.clients));
    const deadline = measureEnd + o.drain * 1000;
    while (
      sum(tally.received) < expectedNow() && performance.now() < deadline
    ) {
      await sleep(20);
    }
    const drainEnd = performance.now();
    tally.measuring = false;
    const drainMs = drainEnd - measureEnd;
    const serverCpu1 = server.cpuSeconds();
    const clientCpu1 = cpuSeconds(Deno.pid);
    const hostCpu1 = hostBusySeconds();
    const windowS = (drainEnd - measureStart) / 1000;
    const rssAfter = server.rssKiB();
    const serverDied = server.exited;

    const sent = sum(tally.sent);
    const rateLimited = sum(tally.rateLimited);
    const expected = expectedNow();
    const delivered = sum(tally.received);
    const activeS =
      (Math.max(measureEnd, tally.lastDeliveryAt) - measureStart) /
      1000;
    const pct = (a: number | null, b: number | null) =>
      a === null || b === null ? null : (100 * (b - a)) / windowS;
    const otherCpu = () => {
      const cpu = [
        hostCpu0,
        hostCpu1,
        serverCpu0,
        serverCpu1,
        clientCpu0,
        clientCpu1,
      ];
      if (cpu.some((v) => v === null)) return null;
      const [h0, h1, s0, s1, c0, c1] = cpu as number[];
      return Math.max(0, 100 * ((h1 - h0) - (s1 - s0) - (c1 - c0)) / windowS);
    };
    return {
      target,
      layer,
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
      serverCpuPct: pct(serverCpu0, serverCpu1),
      clientCpuPct: pct(clientCpu0, clientCpu1),
      otherCpuPct: otherCpu(),
      timeline: timeline(tally, measureStart),
      presenceFrames: tally.presenceFrames,
      drainMs,
      signInMs,
      connectMs,
      warmupReceived: tally.warmupReceived,
      warmupRateLimited: tally.warmupRateLimited,
      otherErrors: Object.fromEntries(tally.otherErrors),
      resyncs: tally.resyncs,
      badFrames: tally.badFrames,
      unexpectedCloses: Object.fromEntries(tally.unexpectedCloses),
      sendFailures: tally.sendFailures,
      serverDied,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
    await removeTempDir(tmp);
  }
}

const fmt = (v: number | null, digits = 1) =>
  v === null || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);

const ratio = (a: number | null, b: number | null) =>
  a === null || b === null || b === 0 ? null : a / b;

/** The second of send time with the highest p99, as `p99 (@s)`. */
function worstSecond(r: ScenarioResult): string {
  let worst: TimelineSecond | null = null;
  for (const t of r.timeline) {
    if (t.p99 !== null && (worst === null || t.p99 > worst.p99!)) worst = t;
  }
  return worst ? `${fmt(worst.p99, 1)} (@${worst.s})` : "n/a";
}

/** The human-readable table: one column per scenario. */
function table(results: ScenarioResult[], ratios: Ratios | null): string {
  const rows: [string, ...string[]][] = [
    [
      "target",
      ...results.map((r) => r.layer ? `${r.target}/${r.layer}` : r.target),
    ],
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
  const widths = rows[0].map((_, c) =>
    Math.max(...rows.map((r) => r[c].length))
  );
  const line = (r: string[]) =>
    r.map((cell, c) =>
      c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
    )
      .join("  ");
  const out = [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows.slice(1)) out.push(line(r));
  if (ratios) {
    out.push("");
    out.push(
      `roomcast/bare: delivered msgs/s ×${fmt(ratios.deliveredPerSec, 3)}, ` +
        `RSS per socket ×${fmt(ratios.rssPerSocket, 2)}, ` +
        `p50 latency ×${fmt(ratios.p50, 2)}, p99 latency ×${
          fmt(ratios.p99, 2)
        }, ` +
        `server CPU ×${fmt(ratios.serverCpu, 2)}`,
    );
  }
  const notes: string[] = [];
  for (const r of results) {
    const name = r.layer ? `${r.target}/${r.layer}` : r.target;
    const extra = [
      r.warmupRateLimited
        ? `${r.warmupRateLimited} rate_limited in warm-up`
        : "",
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
        `other processes used ${
          fmt(r.otherCpuPct, 0)
        }% CPU during the window: ` +
          "figures are skewed, rerun on a quiet host",
      );
    }
    if (extra.length) notes.push(`${name}: ${extra.join("; ")}`);
  }
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}

/** roomcast ÷ bare for the headline figures. */
interface Ratios {
  deliveredPerSec: number | null;
  rssPerSocket: number | null;
  p50: number | null;
  p99: number | null;
  serverCpu: number | null;
}

function ratios(results: ScenarioResult[]): Ratios | null {
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

const round = (_key: string, v: unknown) =>
  typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v;

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(Deno.args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}\n\n${HELP}`);
      return 2;
    }
    throw err;
  }
  // Hard ceiling on the whole run, whatever hangs.
  const perScenarioS = 90 + options.warmup + options.duration + options.drain +
    (options.rooms * options.clients) / 20;
  const watchdog = setTimeout(() => {
    console.error("bench: watchdog fired; killing servers");
    killAllNow();
    Deno.exit(3);
  }, perScenarioS * options.targets.length * 1000);
  const onSignal = () => {
    killAllNow();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const fsync = options.targets.includes("roomcast") && options.kv === "file"
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
  const results: ScenarioResult[] = [];
  const failures: { target: Target; error: string }[] = [];
  try {
    for (const target of options.targets) {
      try {
        results.push(await runScenario(target, options));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        console.error(`bench: ${target} failed: ${error}`);
        failures.push({ target, error });
      }
    }
  } finally {
    killAllNow();
    clearTimeout(watchdog);
  }
  const r = ratios(results);
  if (results.length) {
    const disk = fsync
      ? `\ndisk fsync (4 KiB) p50 ${fmt(fsync.p50, 2)} ms, p99 ${
        fmt(fsync.p99, 2)
      } ms: every Roomcast message is a KV commit on this disk\n`
      : "";
    console.log(`\n${table(results, r)}\n${disk}`);
  }
  console.log(JSON.stringify(
    {
      bench: "roomcast-fanout",
      deno: Deno.version.deno,
      cpus: navigator.hardwareConcurrency,
      loadAverage: load,
      options: {
        ...options,
        senders: sendersPerRoom(options),
      },
      diskFsyncMs: fsync,
      results,
      ratio: r,
      failures,
    },
    round,
  ));
  return failures.length || results.some((r) => r.serverDied) ? 1 : 0;
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

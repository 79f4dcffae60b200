/**
 * Command-line flags of `bench/run.ts`, parsed by hand (no std library).
 *
 * @module
 */

import { LAYER_KINDS, type LayerKind } from "../lib/chat/layer.ts";
import { LOAD_PROCESS_MAX_SOCKETS } from "./spread.ts";

/** Most server or load processes: the 2-core machine runs out long before. */
export const MAX_PROCESSES = 16;

/** Roomcast's sustained per-connection rate (lib/chat/rate_limit.ts). */
export const DEFAULT_SENDER_RATE = 2;

/** A server under test. */
export type Target = "roomcast" | "bare";
/** A scenario of the benchmark. */
export type Scenario = "idle" | "fanout" | "ramp" | "storm";
/** The order `--scenario=all` runs them in. */
export const ALL_SCENARIOS: readonly Scenario[] = ["idle", "fanout", "ramp"];
/** Every scenario; `storm` (a restart under 10,000 sockets) runs only when named. */
export const SCENARIOS: readonly Scenario[] = [...ALL_SCENARIOS, "storm"];

/** Command-line options. */
export interface Options {
  scenarios: Scenario[];
  targets: Target[];
  layer: LayerKind;
  /** Roomcast storage: a fresh KV file (default) or `:memory:` (diagnosis only). */
  kv: "file" | "memory";
  /** Directory for V8 tick logs of the servers (`node --prof-process` reads them). */
  profile: string | undefined;
  /** The bare server's V8 flags: Deno's defaults, or the same as `deno task start` gives Roomcast. */
  bareV8: "default" | "same";
  /** Roomcast's `WORKERS`: serving workers in its one process (1: none extra). */
  workers: number;
  /**
   * Server processes per target on one port (`SO_REUSEPORT`; Roomcast with
   * `REUSE_PORT=1`), each with its own `nofile` limit (idle only; Roomcast
   * needs `--layer=redis` for more than one).
   */
  processes: number;
  /** Load-generator processes for idle (`auto`: as few as hold the sockets; see `bench/spread.ts`). */
  loadProcesses: number | "auto";
  /** Roomcast's listener (`LISTENER`): the guarded one (default) or plain `Deno.serve`, for comparing. */
  listener: "guarded" | "deno";
  /** Rooms (every scenario). */
  rooms: number;
  /** WebSocket clients per room (fanout, ramp). */
  clients: number;
  /** Message text length, characters. */
  size: number;
  /** Share of sends that are reactions instead of messages, percent (fanout, ramp). */
  reactions: number;

  /** fanout: messages per second, all rooms together. */
  rate: number;
  /** fanout: measured window, seconds. */
  duration: number;
  /** fanout: unmeasured sending before the window, seconds. */
  warmup: number;
  /** fanout: longest wait for outstanding deliveries after the window, seconds. */
  drain: number;
  /** fanout: senders per room; `undefined` = computed from `rate` and `senderRate`. */
  senders: number | undefined;
  /** fanout: highest per-sender rate when computing senders. */
  senderRate: number;

  /** ramp: first offered rate, messages per second (all rooms). */
  startRate: number;
  /** ramp: each step offers this many times the last while steps pass. */
  stepFactor: number;
  /** ramp: highest offered rate tried, messages per second. */
  maxRate: number;
  /** ramp: bisections between the last pass and the first fail. */
  bisect: number;
  /** ramp: p99 latency a step must stay under, ms. */
  p99Limit: number;
  /** ramp: measured window per step, seconds. */
  stepWindow: number;
  /** ramp: unmeasured sending before each window, seconds. */
  stepWarmup: number;
  /** ramp: longest wait for a step's outstanding deliveries, seconds. */
  stepDrain: number;

  /** idle: sockets to open, all rooms together. */
  sockets: number;
  /** idle: seconds to hold them open before the liveness check. */
  hold: number;

  /** storm: clients per room (sockets come from `sockets`). */
  roomSize: number;
  /** storm: messages in each room before the restart. */
  history: number;
  /** storm: messages posted in each room by its first members back. */
  stormPosts: number;
  /** storm: when clients send `resume` after a welcome. */
  resume: "always" | "gap";
  /** storm: worker threads the clients are spread over (by room). */
  stormThreads: number;
}

/**
 * Rough wall-clock seconds of each scenario with the default flags, both
 * targets, on a quiet 2-core machine (idle depends most on how fast the
 * server joins sockets to full rooms).
 */
export const EXPECTED_SECONDS: Record<Scenario, number> = {
  idle: 75,
  fanout: 30,
  ramp: 130,
  storm: 90,
};

/** The `--help` text. */
export const HELP =
  `deno task bench [flags]   (or: deno run -A bench/run.ts [flags])

Scenarios (--scenario=all runs idle, fanout, ramp in that order, about
${
    Math.round(
      (EXPECTED_SECONDS.idle + EXPECTED_SECONDS.fanout +
        EXPECTED_SECONDS.ramp) /
        60,
    )
  } minutes on a quiet 2-core machine; idle ≈ ${EXPECTED_SECONDS.idle} s, fanout ≈ ${EXPECTED_SECONDS.fanout} s, ramp ≈ ${EXPECTED_SECONDS.ramp} s):
  idle    memory per idle socket: RSS before/after opening --sockets, a hold,
          then one message per room must reach every socket
  fanout  R rooms × C clients, S senders, a fixed rate: throughput, latency, loss
  ramp    steps the offered rate up (then bisects) to find the highest
          delivered msgs/s with p99 < --p99-limit and no loss
          (Roomcast runs with RATE_LIMIT_BURST=RATE_LIMIT_PER_SECOND=100000)

Common:
  --scenario=all               all | idle | fanout | ramp (comma list allowed)
  --target=both                both | roomcast | bare (both prints roomcast/bare)
  --layer=memory               Roomcast CHANNEL_LAYER: memory | broadcast | redis | kv
                               (redis: a private redis-server on a free port)
  --kv=file                    Roomcast KV_PATH: file (fresh temp file) | memory (diagnosis)
  --listener=guarded           Roomcast LISTENER: guarded (lib/net/front.ts) | deno
                               (plain Deno.serve + Deno.upgradeWebSocket), to compare
  --bare-v8=default            bare server's V8 flags: default (Deno's) | same (the
                               --v8-flags of \`deno task start\`, which Roomcast always gets)
  --workers=1                  Roomcast WORKERS (serving workers sharing the port; > 1
                               needs --layer=broadcast, kv or redis; the bare server has one)
  --processes=1                server processes per target on one port (SO_REUSEPORT;
                               Roomcast gets REUSE_PORT=1 and needs --layer=redis for
                               more than one; idle only): one machine past one
                               process' nofile limit
  --rooms=20                   rooms
  --clients=25                 WebSocket clients per room (fanout, ramp)
  --size=80                    message text length, characters
  --reactions=0                percent of sends that are reactions (a 👍 toggle on
                               the newest message) instead of messages (fanout, ramp)
  --profile=DIR                write the servers' V8 tick logs to DIR/<scenario>-<target>.v8.log
                               (read them with: node --prof-process DIR/fanout-roomcast-memory.v8.log)

fanout:
  --rate=200                   messages/s sent in total, all rooms together
  --duration=10                measured window, seconds
  --warmup=2                   unmeasured sending first, seconds
  --drain=5                    max wait for outstanding deliveries, seconds
  --senders=auto               senders per room (auto: ceil(rate/rooms/sender-rate))
  --sender-rate=2              max msgs/s per sender for auto (server limit: 2/s, burst 20)

ramp:
  --start-rate=200             first step, messages/s offered (all rooms)
  --step-factor=1.5            next step = last × factor while steps pass
  --max-rate=20000             stop at this offered rate (messages/s)
  --bisect=2                   bisections between the last pass and the first fail
  --p99-limit=250              a step passes with p99 < this (ms), no loss, no closes,
                               and ≥ 97 % of deliveries within window + drain
  --step-window=5              measured window per step, seconds
  --step-warmup=1              unmeasured sending before each window, seconds
  --step-drain=3               max wait for a step's outstanding deliveries, seconds

idle:
  --sockets=10000              sockets to open (needs ulimit -n ≥ sockets + 200)
  --hold=10                    seconds to hold them before the liveness check
  --load-processes=auto        client processes (auto: as few as hold ≤ 15,000 sockets
                               each); with more than one process on either side, the
                               sockets come from load processes, ≤ 14,000 per source
                               address on 127.0.0.0/8 (127.0.0.2, .3, …). E.g. 50,000:
                               --scenario=idle --sockets=50000 --rooms=100
                               --processes=3 --layer=redis

storm (only when named: --scenario=storm; ≈ ${EXPECTED_SECONDS.storm} s):
  a graceful restart (1012) under --sockets clients, every one reconnecting
  with its session and catching up; time until all are back, CPU per reconnect
  --room-size=50               clients per room
  --history=20                 messages per room before the restart
  --storm-posts=5              messages per room posted by its first members back
  --resume=always              always: resume after every welcome (but one with
                               resumeFrom: the server answers it) | gap: only on a gap
  --storm-threads=2            worker threads the clients are spread over, by room
                               (one thread held the bare server's storm back)
`;

/** A bad flag; the message says which. */
export class UsageError extends Error {}

/** What {@link parseArgs} found: options, or a request for the help text. */
export type Parsed = { help: true } | { help: false; options: Options };

/** Parses `--key=value` flags by hand (no std). */
export function parseArgs(args: string[]): Parsed {
  const raw = new Map<string, string>();
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") return { help: true };
    const m = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
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
  const scenarioRaw = take("scenario") ?? "all";
  const wanted = new Set<string>();
  for (const s of scenarioRaw.split(",")) {
    if (s === "all") ALL_SCENARIOS.forEach((x) => wanted.add(x));
    else if ((SCENARIOS as readonly string[]).includes(s)) wanted.add(s);
    else {
      throw new UsageError(
        "--scenario must be all, idle, fanout, ramp or storm",
      );
    }
  }
  const target = take("target") ?? "both";
  if (!["both", "roomcast", "bare"].includes(target)) {
    throw new UsageError("--target must be both, roomcast or bare");
  }
  const layer = take("layer") ?? "memory";
  if (!(LAYER_KINDS as readonly string[]).includes(layer)) {
    throw new UsageError(`--layer must be ${LAYER_KINDS.join(", ")}`);
  }
  const kv = take("kv") ?? "file";
  if (kv !== "file" && kv !== "memory") {
    throw new UsageError("--kv must be file or memory");
  }
  const bareV8 = take("bare-v8") ?? "default";
  if (bareV8 !== "default" && bareV8 !== "same") {
    throw new UsageError("--bare-v8 must be default or same");
  }
  const resume = take("resume") ?? "always";
  if (resume !== "always" && resume !== "gap") {
    throw new UsageError("--resume must be always or gap");
  }
  const listener = take("listener") ?? "guarded";
  if (listener !== "guarded" && listener !== "deno") {
    throw new UsageError("--listener must be guarded or deno");
  }
  const loadProcessesRaw = take("load-processes") ?? "auto";
  const loadProcesses = loadProcessesRaw === "auto"
    ? "auto"
    : Number(loadProcessesRaw);
  if (
    loadProcesses !== "auto" &&
    (!Number.isInteger(loadProcesses) || loadProcesses < 1 ||
      loadProcesses > MAX_PROCESSES)
  ) {
    throw new UsageError(
      `--load-processes must be auto or an integer from 1 to ${MAX_PROCESSES}`,
    );
  }
  const sendersRaw = take("senders");
  const options: Options = {
    scenarios: SCENARIOS.filter((s) => wanted.has(s)),
    targets: target === "both" ? ["roomcast", "bare"] : [target as Target],
    layer: layer as LayerKind,
    kv,
    profile: undefined,
    bareV8,
    workers: int("workers", 1, 1, 64),
    processes: int("processes", 1, 1, MAX_PROCESSES),
    loadProcesses,
    listener,
    rooms: int("rooms", 20, 1, 10_000),
    clients: int("clients", 25, 1, 10_000),
    size: int("size", 80, 40, 3_900),
    reactions: int("reactions", 0, 0, 50),
    rate: num("rate", 200, 0.1, 1_000_000),
    duration: num("duration", 10, 0.5, 3_600),
    warmup: num("warmup", 2, 0, 600),
    drain: num("drain", 5, 0.1, 600),
    senders: undefined,
    senderRate: num("sender-rate", DEFAULT_SENDER_RATE, 0.01, 1_000_000),
    startRate: num("start-rate", 200, 1, 1_000_000),
    stepFactor: num("step-factor", 1.5, 1.05, 10),
    maxRate: num("max-rate", 20_000, 1, 1_000_000),
    bisect: int("bisect", 2, 0, 10),
    p99Limit: num("p99-limit", 250, 1, 60_000),
    stepWindow: num("step-window", 5, 0.5, 600),
    stepWarmup: num("step-warmup", 1, 0, 600),
    stepDrain: num("step-drain", 3, 0.1, 600),
    sockets: int("sockets", 10_000, 1, 1_000_000),
    hold: num("hold", 10, 0, 3_600),
    roomSize: int("room-size", 50, 1, 10_000),
    history: int("history", 20, 0, 1_000),
    stormPosts: int("storm-posts", 5, 0, 1_000),
    resume,
    stormThreads: int("storm-threads", 2, 1, 16),
  };
  if (options.workers > 1 && options.layer === "memory") {
    throw new UsageError(
      "--workers > 1 needs --layer=broadcast, kv or redis (memory spans one worker)",
    );
  }
  if (options.processes > 1 || options.loadProcesses !== "auto") {
    if (options.scenarios.some((s) => s !== "idle")) {
      throw new UsageError(
        "--processes and --load-processes apply to --scenario=idle only",
      );
    }
    if (
      options.processes > 1 && options.targets.includes("roomcast") &&
      options.layer !== "redis"
    ) {
      throw new UsageError(
        "--processes > 1 needs --layer=redis (the layer that spans processes on one KV file)",
      );
    }
  }
  if (
    options.loadProcesses !== "auto" &&
    options.sockets > options.loadProcesses * LOAD_PROCESS_MAX_SOCKETS
  ) {
    throw new UsageError(
      `--load-processes=${options.loadProcesses} cannot hold --sockets=${options.sockets} (at most ${LOAD_PROCESS_MAX_SOCKETS} each)`,
    );
  }
  if (options.maxRate < options.startRate) {
    throw new UsageError("--max-rate must be at least --start-rate");
  }
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
  return { help: false, options };
}

/** fanout: senders per room, given or enough to keep each at or under `senderRate`. */
export function sendersPerRoom(o: Options): number {
  if (o.senders !== undefined) return o.senders;
  const perRoom = o.rate / o.rooms;
  return Math.min(o.clients, Math.max(1, Math.ceil(perRoom / o.senderRate)));
}

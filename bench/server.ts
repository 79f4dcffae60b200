/**
 * The servers under test, as subprocesses on 127.0.0.1: Roomcast (`main.ts`,
 * a fresh KV file, a fixed session secret, `LOG_LEVEL=error`, the chosen
 * `CHANNEL_LAYER`; for `redis`, a private `redis-server` on a free port with
 * no persistence) or the bare reference (`bench/bare_server.ts`). Plus guest
 * sign-in (on a helper instance, see {@link signInGuests}) and the server's
 * `/metrics`.
 *
 * @module
 */

import {
  children,
  HOST,
  log,
  makeTempDir,
  pool,
  range,
  removeTempDir,
  ROOT,
  rssKiB,
} from "./common.ts";
import { withTimeout } from "../lib/async.ts";
import type { Options, Target } from "./options.ts";
import { CROWD_FROM_ONE_ADDRESS } from "../lib/config.ts";
import { guestCookie } from "../support/guest.ts";
import { listeningPort } from "../support/process.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";

/** Fixed 40-character session secret for the benchmarked server. */
const BENCH_SECRET = "bench-secret-0123456789-abcdefghijklmnop";
const START_TIMEOUT_MS = 30_000;
const HTTP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 6_000;
/** Sign-ins in flight at once. */
export const SIGN_IN_CONCURRENCY = 50;

/** A subprocess that {@link children} tracks until it exits. */
class Child {
  readonly #child: Deno.ChildProcess;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(child: Deno.ChildProcess) {
    this.#child = child;
    children.add(child);
    this.status = child.status.finally(() => {
      this.#exited = true;
      children.delete(child);
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  get process(): Deno.ChildProcess {
    return this.#child;
  }

  /** True once the process has exited, for whatever reason. */
  get exited(): boolean {
    return this.#exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    try {
      await withTimeout(this.status, STOP_TIMEOUT_MS, "stopping process");
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
      await withTimeout(this.status, STOP_TIMEOUT_MS, "killing process")
        .catch(() => {});
    }
  }
}

/** A server under test, as a subprocess. */
export class ServerProcess extends Child {
  readonly #stderrTail: string[] = [];
  port = 0;

  private constructor(child: Deno.ChildProcess) {
    super(child);
    this.#drainStderr();
  }

  get origin(): string {
    return `http://${HOST}:${this.port}`;
  }

  /** The last lines the server wrote to stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  /**
   * Starts `script` with `env` and waits for its `Listening on` line; on a
   * free port unless `env` names a `PORT`.
   */
  static async start(
    script: string,
    env: Record<string, string>,
    denoFlags: string[] = [],
  ): Promise<ServerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...denoFlags, script],
      cwd: ROOT,
      env: { PORT: "0", ...env, HOSTNAME: HOST, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new ServerProcess(child);
    try {
      server.port = await withTimeout(
        listeningPort(child.stdout),
        START_TIMEOUT_MS,
        `starting ${script}`,
      );
    } catch (err) {
      await server.stop();
      throw new Error(`${(err as Error).message}\n${server.stderrTail}`);
    }
    return server;
  }

  async #drainStderr(): Promise<void> {
    try {
      const lines = this.process.stderr.pipeThrough(new TextDecoderStream());
      for await (const chunk of lines) {
        for (const line of chunk.split("\n")) {
          if (!line) continue;
          this.#stderrTail.push(line);
          if (this.#stderrTail.length > 20) this.#stderrTail.shift();
        }
      }
    } catch { /* closed */ }
  }

  /** VmRSS in KiB, or null once exited (or off Linux). */
  rssKiB(): number | null {
    return this.exited ? null : rssKiB(this.pid);
  }
}

/**
 * A private redis-server for `--layer=redis` (`support/redis.ts`, as in the
 * tests: 127.0.0.1, a free port, no persistence), tracked in
 * {@link children} so an aborted run kills it too.
 */
async function startBenchRedis(): Promise<TestRedis> {
  let redis: TestRedis;
  try {
    redis = await startRedis();
  } catch (err) {
    throw new Error(
      `--layer=redis needs a working redis-server on the PATH: ${
        (err as Error).message
      }`,
    );
  }
  const child = redis.process;
  children.add(child);
  child.status.finally(() => children.delete(child));
  return redis;
}

/** One started target: the server (and its redis-server), ready for clients. */
export interface Deployment {
  target: Target;
  /** Roomcast's layer; null for bare. */
  layer: string | null;
  /** The current server process (a new one after {@link restart}); the first of {@link servers}. */
  readonly server: ServerProcess;
  /**
   * Every server process of the target, all on one port (`--processes`;
   * `SO_REUSEPORT`: the kernel spreads new connections over them).
   */
  readonly servers: readonly ServerProcess[];
  /** Sum of the server processes' VmRSS, KiB; null once one has exited. */
  rssKiB(): number | null;
  /** True once any server process has exited. */
  readonly exited: boolean;
  redis: TestRedis | null;
  /** `target` or `target/layer`, for tables. */
  label: string;
  /** Processes whose CPU counts as the server's (redis-server included). */
  pids(): number[];
  wsUrl(room: string): string;
  /**
   * Stops the servers gracefully (SIGTERM: their sockets are closed with 1012)
   * and starts them again on the same data, on a new port.
   */
  restart(): Promise<void>;
  /** Stops the servers, their redis-server and removes their KV directory. */
  stop(): Promise<void>;
}

/** Extra settings for one start. */
export interface StartOptions {
  /** Names the V8 profile file. */
  scenario: string;
  /** Extra environment for Roomcast (e.g. rate limits for the ramp). */
  env?: Record<string, string>;
}

/**
 * The V8 flags `deno task start` gives `main.ts` (read from `deno.json`), so
 * the benchmark measures the server as it is run. Empty when there are none.
 */
export async function startTaskV8Flags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = config.tasks?.start ?? "";
  const run = /deno run ([^&|;]*)main\.ts/.exec(task)?.[1] ?? "";
  const flags = /--v8-flags=(\S+)/.exec(run)?.[1];
  return flags ? flags.split(",") : [];
}

/** `--v8-flags=…` combining `flags`, or nothing. */
function v8FlagArgs(flags: string[]): string[] {
  return flags.length ? [`--v8-flags=${flags.join(",")}`] : [];
}

/** Starts `target` as configured by `o`. */
export async function startTarget(
  target: Target,
  o: Options,
  start: StartOptions,
): Promise<Deployment> {
  const layer = target === "roomcast" ? o.layer : null;
  // Plain Deno.serve is named in the labels, so an A/B run's logs say which is which.
  const label =
    (layer
      ? `${target}/${layer}${o.workers > 1 ? `×${o.workers}` : ""}`
      : target) +
    (target === "roomcast" && o.listener === "deno" ? "/Deno.serve" : "") +
    (o.processes > 1 ? ` ${o.processes} processes` : "");
  // Several processes share one port: the first picks it, the others join.
  const reusePort: Record<string, string> = o.processes > 1
    ? { REUSE_PORT: "1" }
    : {};
  if (o.profile) await Deno.mkdir(o.profile, { recursive: true });
  const profile = o.profile
    ? [
      "--prof",
      "--no-logfile-per-isolate",
      `--logfile=${o.profile}/${start.scenario}-${target}${
        layer ? `-${layer}` : ""
      }.v8.log`,
    ]
    : [];
  const startFlags = await startTaskV8Flags();
  const flagsFor = target === "bare" && o.bareV8 === "default"
    ? []
    : startFlags;
  log(
    `${label}: V8 flags ${
      flagsFor.length ? flagsFor.join(",") : "Deno's defaults"
    }${target === "roomcast" ? " (those of `deno task start`)" : ""}`,
  );
  if (target === "bare") {
    // The reference runs on Deno's defaults unless asked to share Roomcast's flags.
    const launch = (port: number) =>
      ServerProcess.start(
        "bench/bare_server.ts",
        { ...reusePort, PORT: String(port) },
        v8FlagArgs([...(o.bareV8 === "same" ? startFlags : []), ...profile]),
      );
    const launchAll = () => startProcesses(o.processes, launch);
    return deployment(
      target,
      null,
      label,
      await launchAll(),
      launchAll,
      null,
      null,
    );
  }
  const tmp = await makeTempDir("roomcast-bench-");
  let redis: TestRedis | null = null;
  try {
    if (o.layer === "redis") {
      redis = await startBenchRedis();
      log(`redis-server pid ${redis.process.pid} on ${redis.url}`);
    }
    const env = {
      KV_PATH: o.kv === "file" ? `${tmp}/bench.kv` : ":memory:",
      SESSION_SECRET: BENCH_SECRET,
      LOG_LEVEL: "error",
      CHANNEL_LAYER: o.layer,
      WORKERS: String(o.workers),
      // The load generator is one address standing in for thousands of people.
      ...CROWD_FROM_ONE_ADDRESS,
      LISTENER: o.listener,
      ...(redis ? { REDIS_URL: redis.url } : {}),
      ...reusePort,
      ...start.env,
    };
    // A restart (the storm scenario) starts the same command on the same KV file.
    const launch = (port: number) =>
      ServerProcess.start(
        "main.ts",
        { ...env, PORT: String(port) },
        v8FlagArgs([...startFlags, ...profile]),
      );
    const launchAll = () => startProcesses(o.processes, launch);
    const servers = await launchAll();
    return deployment(target, layer, label, servers, launchAll, redis, tmp);
  } catch (err) {
    await redis?.stop();
    await removeTempDir(tmp);
    throw err;
  }
}

/**
 * Starts `n` processes with `launch`: the first on a free port (0), the
 * others on the port it got; if one fails, stops those already started.
 */
async function startProcesses(
  n: number,
  launch: (port: number) => Promise<ServerProcess>,
): Promise<ServerProcess[]> {
  const servers = [await launch(0)];
  try {
    for (let i = 1; i < n; i++) servers.push(await launch(servers[0].port));
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  return servers;
}

const pidsOf = (servers: readonly ServerProcess[]) =>
  servers.map((s) => s.pid).join(", ");

function deployment(
  target: Target,
  layer: string | null,
  label: string,
  first: ServerProcess[],
  launchAll: () => Promise<ServerProcess[]>,
  redis: TestRedis | null,
  tmp: string | null,
): Deployment {
  let servers = first;
  log(`${label}: server pid ${pidsOf(servers)} on ${servers[0].origin}`);
  const stopAll = () => Promise.all(servers.map((s) => s.stop()));
  return {
    target,
    layer,
    get server() {
      return servers[0];
    },
    get servers() {
      return servers;
    },
    rssKiB() {
      let total = 0;
      for (const s of servers) {
        const rss = s.rssKiB();
        if (rss === null) return null;
        total += rss;
      }
      return total;
    },
    get exited() {
      return servers.some((s) => s.exited);
    },
    redis,
    label,
    pids: () => [
      ...servers.map((s) => s.pid),
      ...(redis ? [redis.process.pid] : []),
    ],
    wsUrl: (room) => `ws://${HOST}:${servers[0].port}/ws/chat/${room}`,
    async restart() {
      await stopAll();
      servers = await launchAll();
      log(
        `${label}: restarted, pid ${pidsOf(servers)} on ${servers[0].origin}`,
      );
    },
    async stop() {
      await stopAll();
      await redis?.stop();
      if (tmp) await removeTempDir(tmp);
    },
  };
}

/** Session cookies of the guests `bench-0`, `bench-1`, …, in that order. */
const guestCookies: string[] = [];

/**
 * Makes sure the session cookies of at least `n` guests exist, signing the
 * missing ones in ({@link SIGN_IN_CONCURRENCY} at a time) on a separate,
 * short-lived Roomcast instance with the benchmark's session secret. Nothing
 * is stored for a guest, so every server under test accepts these cookies,
 * and its own memory never holds the sign-ins: 10,000 of them grow a
 * server's heap by about 80 MB, which the sockets opened next would reuse,
 * hiding their own memory. Returns the time taken, ms (0 if none was needed).
 */
export async function signInGuests(n: number): Promise<number> {
  if (guestCookies.length >= n) return 0;
  const t = performance.now();
  const helper = await ServerProcess.start("main.ts", {
    KV_PATH: ":memory:",
    SESSION_SECRET: BENCH_SECRET,
    LOG_LEVEL: "error",
    CHANNEL_LAYER: "memory",
    ...CROWD_FROM_ONE_ADDRESS,
  });
  try {
    const from = guestCookies.length;
    guestCookies.push(
      ...await pool(
        range(n - from),
        SIGN_IN_CONCURRENCY,
        (i) =>
          guestCookie(helper.origin, `bench-${from + i}`, {
            signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
          }),
      ),
    );
  } finally {
    await helper.stop();
  }
  return performance.now() - t;
}

/**
 * The handshake headers of `n` clients of `d`: for Roomcast one guest each
 * (see {@link signInGuests}) plus `Origin`; for bare only `Origin`.
 */
export async function clientHeaders(
  d: Deployment,
  n: number,
): Promise<Record<string, string>[]> {
  const origin = d.server.origin;
  if (d.target === "bare") return range(n).map(() => ({ origin }));
  await signInGuests(n);
  return guestCookies.slice(0, n).map((cookie) => ({ cookie, origin }));
}

/**
 * Roomcast's `GET /metrics` counters (closes by code, drops by reason…), or
 * null (also with several processes: one request reaches one of them).
 */
export async function serverMetrics(
  d: Deployment,
): Promise<Record<string, unknown> | null> {
  if (d.target !== "roomcast" || d.exited || d.servers.length > 1) return null;
  try {
    const res = await fetch(`${d.server.origin}/metrics`, {
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    return await res.json();
  } catch {
    return null;
  }
}

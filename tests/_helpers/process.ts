/**
 * Runs the real server as a separate OS process (`deno run -A main.ts` unless
 * told otherwise), for tests that kill or restart it, or start it the way a
 * platform would (other flags, an entry point elsewhere, a bare environment).
 */
import { withTimeout } from "../../lib/async.ts";
import { listeningPort } from "../../support/process.ts";
import { CROWD_FROM_ONE_ADDRESS, TEST_SECRET } from "./server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** How long a started server may take to print its listening line. */
export const START_TIMEOUT_MS = 20_000;
/** What a bare environment keeps of this one: where `deno` and its cache are. */
const KEPT_VARIABLES = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"];

export interface ServerProcess {
  origin: string;
  port: number;
  pid: number;
  /** True once the process has exited. */
  exited(): boolean;
  /** The process's resident memory (VmRSS), KiB. */
  rssKiB(): number;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** What the process wrote on stderr so far (with `captureStderr`; else ""). */
  stderr(): string;
}

/** How {@link spawnServer} starts the process. */
export interface SpawnOptions {
  /** `deno run` flags before the script (default `["-A"]`). */
  flags?: string[];
  /** The script (default the project's `main.ts`). */
  main?: string;
  /**
   * Start from a bare environment (PATH, HOME and Deno's cache location)
   * plus the test's variables, instead of inheriting this process' one.
   */
  clearEnv?: boolean;
  /** Keep stderr for {@link ServerProcess.stderr} instead of passing it through. */
  captureStderr?: boolean;
  /** Run the process under this open-file limit (soft and hard), through `bash -c ulimit -n`. */
  nofile?: number;
}

/** The variables of this environment a bare one keeps. */
export function keptEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of KEPT_VARIABLES) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Starts `main.ts` with `env` on 127.0.0.1 and waits until it listens. With
 * `nofile`, the process runs under that open-file limit (soft and hard).
 */
export async function spawnServer(
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const deno = [
    Deno.execPath(),
    "run",
    ...(options.flags ?? ["-A"]),
    options.main ?? MAIN,
  ];
  const [command, ...args] = options.nofile === undefined ? deno : [
    "bash",
    "-c",
    `ulimit -n ${options.nofile} && exec "$@"`,
    "bash",
    ...deno,
  ];
  const child = new Deno.Command(command, {
    args,
    clearEnv: options.clearEnv,
    env: {
      ...(options.clearEnv ? keptEnv() : {}),
      HOSTNAME: "127.0.0.1",
      PORT: "0",
      SESSION_SECRET: TEST_SECRET,
      LOG_LEVEL: "error",
      NO_COLOR: "1",
      ...CROWD_FROM_ONE_ADDRESS,
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: options.captureStderr ? "piped" : "inherit",
  }).spawn();
  let stderr = "";
  if (options.captureStderr) {
    (async () => {
      for await (
        const text of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        stderr += text;
      }
    })();
  }
  let port: number;
  try {
    port = await withTimeout(
      listeningPort(child.stdout),
      START_TIMEOUT_MS,
      "server start",
    );
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    if (!stderr) throw err;
    throw new Error(`${err}; stderr: ${stderr.slice(-1_024)}`, { cause: err });
  }
  let exited = false;
  child.status.then(() => exited = true);
  return {
    port,
    pid: child.pid,
    exited: () => exited,
    rssKiB() {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    },
    origin: `http://127.0.0.1:${port}`,
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return await child.status;
    },
    stderr: () => stderr,
  };
}

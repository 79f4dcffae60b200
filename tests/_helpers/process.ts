/**
 * Runs the real server as a separate OS process (`deno run -A main.ts`), for
 * tests that kill or restart it.
 */
import { TEST_SECRET } from "./server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** How long a started server may take to print its listening line. */
export const START_TIMEOUT_MS = 20_000;

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
}

/** A port that was free a moment ago (for restarting a server on the same port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts `main.ts` with `env` on 127.0.0.1 and waits until it listens. With
 * `nofile`, the process runs under that open-file limit (soft and hard).
 */
export async function spawnServer(
  env: Record<string, string>,
  { nofile }: { nofile?: number } = {},
): Promise<ServerProcess> {
  const deno = [Deno.execPath(), "run", "-A", MAIN];
  const [command, ...args] = nofile === undefined ? deno : [
    "bash",
    "-c",
    `ulimit -n ${nofile} && exec "$@"`,
    "bash",
    ...deno,
  ];
  const child = new Deno.Command(command, {
    args,
    env: {
      HOSTNAME: "127.0.0.1",
      PORT: "0",
      SESSION_SECRET: TEST_SECRET,
      LOG_LEVEL: "error",
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  let port = 0;
  try {
    while (!port) {
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(`server exited before listening; output: ${seen}`);
      }
      seen += value;
      const match = seen.match(/Listening on http:\/\/[^:]+:(\d+)\//);
      if (match) port = Number(match[1]);
    }
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();
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
  };
}

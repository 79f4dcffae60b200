/**
 * Runs the real server as a separate OS process (`deno run -A main.ts`), for
 * tests that kill or restart it.
 */
import { withTimeout } from "../../lib/async.ts";
import { listeningPort } from "../../support/process.ts";
import { CROWD_FROM_ONE_ADDRESS, TEST_SECRET } from "./server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** How long a started server may take to print its listening line. */
export const START_TIMEOUT_MS = 20_000;

export interface ServerProcess {
  origin: string;
  port: number;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Starts `main.ts` with `env` on 127.0.0.1 and waits until it listens. */
export async function spawnServer(
  env: Record<string, string>,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      HOSTNAME: "127.0.0.1",
      PORT: "0",
      SESSION_SECRET: TEST_SECRET,
      LOG_LEVEL: "error",
      NO_COLOR: "1",
      ...CROWD_FROM_ONE_ADDRESS,
      ...env,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
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
    throw err;
  }
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return await child.status;
    },
  };
}

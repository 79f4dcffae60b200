/**
 * A throwaway `redis-server` for tests and `bench/`: on 127.0.0.1 only, on a
 * free port, no persistence. It can be SIGKILLed and started again on the same port to
 * simulate a Redis restart.
 *
 * @module
 */
import { freePort } from "./process.ts";
import { eventually } from "./wait.ts";

const REDIS_SERVER = "redis-server";
/** How long a started redis-server may take to answer PING. */
export const REDIS_START_TIMEOUT_MS = 5_000;

/** A running test redis-server. */
export interface TestRedis {
  readonly port: number;
  /** The running server process (a new one after `restart`). */
  readonly process: Deno.ChildProcess;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** Kills the server with SIGKILL (no shutdown, clients see a dead socket) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts a fresh server on the same port and waits until it answers PING. */
  restart(): Promise<void>;
  /** Stops the server for good. Idempotent. */
  stop(): Promise<void>;
}

/** Sends one command in RESP and returns the first line of the reply (e.g. `+PONG`). */
export async function redisCommand(
  port: number,
  ...args: string[]
): Promise<string> {
  const encoder = new TextEncoder();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const parts = [`*${args.length}\r\n`];
    for (const arg of args) {
      parts.push(`$${encoder.encode(arg).length}\r\n${arg}\r\n`);
    }
    await conn.write(encoder.encode(parts.join("")));
    const buf = new Uint8Array(512);
    const n = await conn.read(buf);
    const reply = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    return reply.split("\r\n")[0];
  } finally {
    conn.close();
  }
}

function spawn(port: number): { child: Deno.ChildProcess; exited: boolean } {
  const child = new Deno.Command(REDIS_SERVER, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const state = { child, exited: false };
  child.status.then(() => state.exited = true);
  return state;
}

/** Polls PING until the server answers; rejects if it exits first or the start timeout passes. */
async function waitForPong(
  port: number,
  state: { exited: boolean },
): Promise<void> {
  let last = "";
  await eventually(
    async () => {
      if (state.exited) {
        throw new Error(`redis-server on port ${port} exited while starting`);
      }
      try {
        last = await redisCommand(port, "PING");
      } catch (err) {
        last = String(err);
      }
      return last === "+PONG";
    },
    () => `redis-server on port ${port} to answer PING: ${last}`,
    REDIS_START_TIMEOUT_MS,
  );
}

/**
 * Starts `redis-server` on a free 127.0.0.1 port and waits until it answers
 * PING. The caller must `stop()` it.
 */
export async function startRedis(): Promise<TestRedis> {
  const port = freePort();
  let state = spawn(port);
  const start = async () => {
    try {
      await waitForPong(port, state);
    } catch (err) {
      await terminate("SIGKILL");
      throw err;
    }
  };
  const terminate = async (signal: Deno.Signal) => {
    if (!state.exited) {
      try {
        state.child.kill(signal);
      } catch { /* already gone */ }
    }
    await state.child.status;
  };
  await start();
  return {
    port,
    get process() {
      return state.child;
    },
    url: `redis://127.0.0.1:${port}`,
    kill: () => terminate("SIGKILL"),
    async restart() {
      await terminate("SIGKILL");
      state = spawn(port);
      await start();
    },
    stop: () => terminate("SIGTERM"),
  };
}

/**
 * Load-generator processes for the idle scenario when one process cannot
 * hold every socket (its `nofile` limit) or the servers are several
 * processes: each runs `bench/load_process.ts` with its slices of the
 * sockets (`bench/spread.ts`), and answers one JSON line per request. They
 * are tracked in {@link children}, so an aborted run kills them too.
 *
 * @module
 */

import { withTimeout } from "../lib/async.ts";
import { children, ROOT } from "./common.ts";
import type { LoadSlice } from "./spread.ts";

/** What a load process is told to do, in order: connect, status, arm, send, tally, exit. */
export type LoadRequest =
  | { cmd: "connect" }
  | { cmd: "status" }
  /** Count deliveries from now on (the liveness check). */
  | { cmd: "arm" }
  /** One message in each of these broadcast groups (`broadcastGroup`), from its first open socket here. */
  | { cmd: "send"; groups: string[] }
  | { cmd: "tally" }
  | { cmd: "exit" };

/** What a load process answers (and `ready` once, unasked). */
export type LoadReply =
  | { cmd: "ready" }
  | {
    cmd: "connect";
    opened: number;
    errors: Record<string, number>;
    ms: number;
    presenceFrames: number;
  }
  | {
    cmd: "status";
    open: number;
    /** Open sockets per broadcast group (`broadcastGroup` in `bench/spread.ts`). */
    groups: Record<string, number>;
    unexpectedCloses: Record<string, number>;
    otherErrors: Record<string, number>;
  }
  | { cmd: "arm" }
  /** Messages sent per broadcast group. */
  | { cmd: "send"; sent: Record<string, number> }
  | {
    cmd: "tally";
    delivered: number;
    /** Receive time − send time, on the wall clock all load processes share. */
    latenciesMs: number[];
    unexpectedCloses: Record<string, number>;
    otherErrors: Record<string, number>;
    rateLimited: number;
  }
  | { cmd: "exit" };

/** The file a load process reads at start. */
export interface LoadSpec {
  /** `ws://127.0.0.1:PORT/ws/chat/`: a room name completes it. */
  wsBase: string;
  rooms: number;
  /** Text length of the liveness messages. */
  size: number;
  /** Sockets this process opens at once. */
  concurrency: number;
  welcomeTimeoutMs: number;
  /** This process' slices, in order. */
  slices: LoadSlice[];
  /** Handshake headers of each of its sockets, slice after slice. */
  headers: Record<string, string>[];
}

/** Longest wait for a load process to start and read its spec. */
const READY_TIMEOUT_MS = 30_000;
/** Longest wait for any answer but `connect`'s. */
const REQUEST_TIMEOUT_MS = 30_000;

/** A running load process. */
export class LoadProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #exited = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    children.add(child);
    child.status.finally(() => {
      this.#exited = true;
      children.delete(child);
    });
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Starts `bench/load_process.ts` on the spec in `specPath`; resolves once it is ready. */
  static async start(specPath: string): Promise<LoadProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "bench/load_process.ts", specPath],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const load = new LoadProcess(child);
    try {
      const ready = await load.#next(READY_TIMEOUT_MS);
      if (ready.cmd !== "ready") {
        throw new Error(`expected ready, got ${ready.cmd}`);
      }
    } catch (err) {
      await load.stop();
      throw err;
    }
    return load;
  }

  /** Sends `req` and waits (at most `timeoutMs`) for its answer. */
  async request<C extends LoadRequest["cmd"]>(
    req: Extract<LoadRequest, { cmd: C }>,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Extract<LoadReply, { cmd: C }>> {
    await this.#writer.write(
      new TextEncoder().encode(JSON.stringify(req) + "\n"),
    );
    const reply = await this.#next(timeoutMs);
    if (reply.cmd !== req.cmd) {
      throw new Error(`load ${this.pid}: asked ${req.cmd}, got ${reply.cmd}`);
    }
    return reply as Extract<LoadReply, { cmd: C }>;
  }

  async #next(timeoutMs: number): Promise<LoadReply> {
    const { value, done } = await withTimeout(
      this.#lines.next(),
      timeoutMs,
      `load process ${this.pid} to answer`,
    );
    if (done) throw new Error(`load process ${this.pid} exited`);
    return JSON.parse(value);
  }

  /** Asks it to exit (it drops its sockets without handshakes), else kills it. */
  async stop(): Promise<void> {
    if (!this.#exited) {
      try {
        await this.request({ cmd: "exit" }, 5_000);
      } catch { /* killed below */ }
    }
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

/** The non-empty lines of `stream`, as they come. */
export async function* lines(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
): AsyncGenerator<string, void, undefined> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) yield line;
    }
  }
}

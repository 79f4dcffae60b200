/**
 * Running Roomcast (or anything that prints the same line) as a child
 * process: a free port, and the port a server started with `PORT=0` prints
 * in its `Listening on http://HOST:PORT/` line (see `lib/instance.ts`).
 * Shared by `tests/` and `bench/`; imports neither.
 *
 * @module
 */

/** The line a server prints once it listens; group 1 is the port. */
const LISTENING = /Listening on http:\/\/[^/\s]+:(\d+)\//;
/** Output kept while looking for that line: enough for any start-up chatter. */
const MAX_SEEN_CHARS = 65_536;

/** A port on 127.0.0.1 that was free a moment ago (for starting a server again on the same port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Reads `output` (a child's stdout) until the `Listening on` line and
 * returns its port; then keeps draining the stream in the background, so a
 * chatty child never blocks on a full pipe. Rejects if the stream ends
 * first, quoting the tail of what it printed. Bound the wait with
 * `withTimeout` from `lib/async.ts`.
 *
 * @example
 * ```ts
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", "main.ts"],
 *   env: { PORT: "0" },
 *   stdout: "piped",
 * }).spawn();
 * const port = await listeningPort(child.stdout);
 * ```
 */
export async function listeningPort(
  output: ReadableStream<Uint8Array<ArrayBuffer>>,
): Promise<number> {
  const reader = output.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(
        `exited before listening; output: ${seen.slice(-1_024)}`,
      );
    }
    seen += value;
    const match = LISTENING.exec(seen);
    if (match) {
      drain(reader);
      return Number(match[1]);
    }
    if (seen.length > MAX_SEEN_CHARS) seen = seen.slice(-1_024);
  }
}

async function drain(reader: ReadableStreamDefaultReader<string>) {
  try {
    while (!(await reader.read()).done) { /* discard */ }
  } catch { /* the stream was cancelled or errored: nothing left to drain */ }
}

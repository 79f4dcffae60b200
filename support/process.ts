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
 * Every port `output` (a child's stdout) announces in a `Listening on` line,
 * as it comes: more than one when the child restarts its server (as
 * `deno task dev` does on a change). Throws if the stream ends before the
 * first line, quoting the tail of what it printed; ends with the stream
 * after that.
 *
 * @example
 * ```ts
 * const ports = listeningPorts(child.stdout);
 * const first = await ports.next(); // { value: 8000, done: false }
 * ```
 */
export async function* listeningPorts(
  output: ReadableStream<Uint8Array<ArrayBuffer>>,
): AsyncGenerator<number, void, undefined> {
  const reader = output.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let announced = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
      let match;
      while ((match = LISTENING.exec(seen))) {
        announced = true;
        seen = seen.slice(match.index + match[0].length);
        yield Number(match[1]);
      }
      if (seen.length > MAX_SEEN_CHARS) seen = seen.slice(-1_024);
    }
  } finally {
    reader.releaseLock();
  }
  if (!announced) {
    throw new Error(`exited before listening; output: ${seen.slice(-1_024)}`);
  }
}

/**
 * The port of the first `Listening on` line in `output` (see
 * {@link listeningPorts}); the rest of the stream is drained in the
 * background, so a chatty child never blocks on a full pipe. Bound the wait
 * with `withTimeout` from `lib/async.ts`.
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
  const ports = listeningPorts(output);
  const first = await ports.next();
  if (first.done) throw new Error("unreachable: the stream ended silently");
  (async () => {
    try {
      for await (const _ of ports) { /* discard */ }
    } catch { /* the stream was cancelled or errored: nothing left to drain */ }
  })();
  return first.value;
}

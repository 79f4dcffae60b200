import assert from "node:assert/strict";
import { withTimeout } from "../../lib/async.ts";
import {
  freePort,
  listeningPort,
  listeningPorts,
} from "../../support/process.ts";

const encoder = new TextEncoder();

/** A stream of `chunks`; `ended` resolves once it has been read to its end. */
function output(chunks: string[]) {
  const ended = Promise.withResolvers<void>();
  let i = 0;
  const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]));
      else {
        controller.close();
        ended.resolve();
      }
    },
  });
  return { stream, ended: ended.promise };
}

Deno.test("listeningPort: finds the port in a line split across chunks, after other output", async () => {
  const { stream } = output([
    "starting…\nListening on http://127.0",
    ".0.1:45",
    "123/\nmore\n",
  ]);
  assert.equal(await listeningPort(stream), 45123);
});

Deno.test("listeningPort: keeps draining the output after the line", async () => {
  const { stream, ended } = output([
    "Listening on http://localhost:8000/\n",
    ...Array.from({ length: 50 }, (_, i) => `log line ${i}\n`),
  ]);
  assert.equal(await listeningPort(stream), 8000);
  // The drain goes on by itself: the stream is read to its end.
  await withTimeout(ended, 2_000, "draining the rest of the output");
});

Deno.test("listeningPort: rejects when the output ends first, quoting it", async () => {
  const { stream } = output(["error: SESSION_SECRET is missing\n"]);
  await assert.rejects(
    listeningPort(stream),
    /exited before listening; output: error: SESSION_SECRET is missing/,
  );
});

Deno.test("listeningPorts: every port announced, in order, until the output ends", async () => {
  const { stream } = output([
    "Listening on http://127.0.0.1:4001/\nWatcher Restarting!\n",
    "Listening on http://127.0.0.1:4002/\nListening on http://127.0.0.1:",
    "4003/\n",
  ]);
  assert.deepEqual(await Array.fromAsync(listeningPorts(stream)), [
    4001,
    4002,
    4003,
  ]);
});

Deno.test("freePort: a port on 127.0.0.1 that can be listened on", () => {
  const port = freePort();
  assert.ok(port > 0 && port < 65_536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});

/**
 * A second OS process writing to the same KV file as a test:
 * `deno run -A append_many.ts <kv path> <room> <count> <clientId prefix>`.
 *
 * Prints `ready` once the file is open, waits for a line on stdin (so both
 * processes start writing together), appends `count` messages concurrently and
 * prints their seqs as one JSON line.
 */
import { createStore } from "../../../lib/store/stores.ts";

const [path, room, count, prefix] = Deno.args;
const stores = await createStore({
  store: "kv",
  kvPath: path,
  historyRetention: 10_000,
});
const store = stores.messages;
const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("ready\n"));

// Wait for the go signal.
const reader = Deno.stdin.readable.getReader();
await reader.read();
reader.releaseLock();

const results = await Promise.all(
  Array.from({ length: Number(count) }, (_, i) =>
    store.append({
      room,
      user: { id: "proc-2", name: "Other process", kind: "guest" },
      text: `from process 2: ${i}`,
      clientId: `${prefix}-${i}`,
    })),
);
await stores.close();
await Deno.stdout.write(
  encoder.encode(JSON.stringify(results.map((r) => r.message.seq)) + "\n"),
);

/**
 * `createServices`: a start-up that fails part-way releases what it opened.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { quietLogger } from "../lib/log.ts";
import { createServices } from "../lib/server.ts";
import { createStore } from "../lib/store/stores.ts";

/** A 127.0.0.1 port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Descriptors this process holds on files under `dir` (Linux: /proc/self/fd). */
function openFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const fd of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${fd.name}`);
      if (target.startsWith(dir)) files.push(target);
    } catch {
      // Closed while listing.
    }
  }
  return files;
}

// Redis is unreachable (a closed port: node-redis retries until the connect
// deadline, about 9 s), so the layer fails after the stores opened.
Deno.test("createServices: when the layer cannot open, the stores it opened are closed and the error surfaces", async () => {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-services-" });
  try {
    const config = loadConfig({
      KV_PATH: `${dir}/data.kv`,
      CHANNEL_LAYER: "redis",
      REDIS_URL: `redis://127.0.0.1:${closedPort()}`,
      LOG_LEVEL: "error",
    });
    // The check below can see an open database.
    const probe = await createStore(config);
    assert.ok(openFilesUnder(dir).length > 0);
    await probe.close();
    assert.deepEqual(openFilesUnder(dir), []);

    await assert.rejects(
      () => createServices(config, { log: quietLogger }),
      /cannot connect to Redis/,
    );
    assert.deepEqual(openFilesUnder(dir), [], "the KV file is still open");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

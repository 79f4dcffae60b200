/// <reference lib="deno.worker" />
/**
 * An extra serving worker for `WORKERS` > 1: the same app on the same port,
 * started and stopped by `main.ts`.
 *
 * @module
 */

import { loadConfig } from "./lib/config.ts";
import { startInstance } from "./lib/instance.ts";
import { manifest } from "./manifest.gen.ts";

self.onmessage = async (event: MessageEvent) => {
  const instance = await startInstance(loadConfig(event.data.env), manifest, {
    reusePort: true,
    announce: false,
  });
  self.onmessage = async () => {
    try {
      await instance.stop("parent stopping");
    } catch (err) {
      instance.services.log.error("worker.stop_failed", { error: String(err) });
    } finally {
      self.postMessage("stopped");
    }
  };
};

/**
 * Entry point: read the configuration, serve (on `WORKERS` workers sharing
 * the port when more than one; with `REUSE_PORT=1` other processes may serve
 * the same port too), and stop gracefully on SIGINT/SIGTERM:
 * clients are told to reconnect (1012) and the process exits within 5 s.
 *
 * @module
 */

import { type AppConfig, ConfigError, loadConfig } from "./lib/config.ts";
import {
  type Instance,
  SHUTDOWN_GRACE_MS,
  startInstance,
} from "./lib/instance.ts";
import { ListenerSettingsError } from "./lib/net/settings.ts";
import { manifest } from "./manifest.gen.ts";

let config: AppConfig;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`roomcast: ${err.message}`);
    Deno.exit(1);
  }
  throw err;
}

let main: Instance;
try {
  main = await startInstance(config, manifest, {
    // Workers of this process, or other processes (REUSE_PORT), share the port.
    reusePort: config.workers > 1 || config.reusePort,
  });
} catch (err) {
  if (err instanceof ListenerSettingsError) {
    console.error(`roomcast: ${err.message}`);
    Deno.exit(1);
  }
  throw err;
}

// Extra workers serve the same port (SO_REUSEPORT); the broadcast, kv or redis layer joins them.
const workers: Worker[] = [];
for (let i = 1; i < config.workers; i++) {
  const worker = new Worker(new URL("./worker.ts", import.meta.url), {
    type: "module",
  });
  worker.postMessage({
    env: { ...Deno.env.toObject(), PORT: String(main.port) },
  });
  workers.push(worker);
}

const stopWorker = (worker: Worker) =>
  new Promise<void>((resolve) => {
    worker.addEventListener(
      "message",
      (e) => e.data === "stopped" && resolve(),
    );
    worker.postMessage("stop");
  });

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  // Whatever happens below, the process is gone within the grace period (Deploy allows 5 s).
  setTimeout(() => Deno.exit(0), SHUTDOWN_GRACE_MS + 500);
  const results = await Promise.allSettled([
    main.stop(signal),
    ...workers.map(stopWorker),
  ]);
  for (const r of results) {
    if (r.status === "rejected") {
      main.services.log.error("server.stop_failed", {
        error: String(r.reason),
      });
    }
  }
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));

/**
 * Helpers for tests that run the app as separate instances (workers or
 * processes) rather than through startServer().
 */

import { CROWD_FROM_ONE_ADDRESS } from "./server.ts";

/** An app instance in a Deno Worker (as `deno serve --parallel` or WORKERS runs them). */
export interface WorkerInstance {
  port: number;
  origin: string;
  worker: Worker;
  /** Stops the instance cleanly and terminates the worker. */
  stop(): Promise<void>;
}

/** Starts the app in a Worker with `env`; resolves once it listens. */
export async function startWorker(
  env: Record<string, string>,
): Promise<WorkerInstance> {
  const worker = new Worker(
    new URL("../chat/_fixtures/app_worker.ts", import.meta.url),
    {
      type: "module",
    },
  );
  const reply = () =>
    new Promise<MessageEvent>((resolve) =>
      worker.addEventListener("message", resolve, { once: true })
    );
  const started = reply();
  worker.postMessage({ env: { ...CROWD_FROM_ONE_ADDRESS, ...env } });
  const { port } = (await started).data;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    worker,
    async stop() {
      const stopped = reply();
      worker.postMessage("stop");
      await stopped;
      worker.terminate();
    },
  };
}

/**
 * Helpers for tests that run the app as separate instances (workers or
 * processes) rather than through startServer().
 */
import type { LayerKind } from "../../lib/chat/layer.ts";

/** Signs in a guest at `origin`; returns the `Cookie` header value. */
export async function guestCookie(
  origin: string,
  name: string,
): Promise<string> {
  const res = await fetch(`${origin}/api/session/guest`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ name }),
  });
  await res.body?.cancel();
  if (res.status !== 200) {
    throw new Error(`guest sign-in failed: ${res.status}`);
  }
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}

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
  options: {
    /** A layer the config cannot be told yet (`kv`, until CHANNEL_LAYER takes it). */
    layer?: LayerKind;
  } = {},
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
  worker.postMessage({ env, layer: options.layer });
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

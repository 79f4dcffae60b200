/**
 * Entry point: read the configuration, build the app, serve, and shut down
 * gracefully on SIGINT/SIGTERM (clients are told to reconnect with 1012).
 *
 * @module
 */

import { ConfigError, loadConfig } from "./app.config.ts";
import { CloseCode } from "./lib/chat/consumer.ts";
import { closeServices, createApp, createServices } from "./lib/server.ts";
import { manifest } from "./manifest.gen.ts";

/** Longest a shutdown waits for in-flight requests before exiting anyway. */
export const SHUTDOWN_GRACE_MS = 4_000;

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`roomcast: ${err.message}`);
    Deno.exit(1);
  }
  throw err;
}

const services = await createServices(config);
const app = createApp(services, manifest);
const server = Deno.serve({
  port: config.port,
  hostname: config.hostname,
  onListen: ({ hostname, port }) => {
    const shown = hostname === "0.0.0.0" ? "localhost" : hostname;
    // Tests and scripts read this line to learn the port.
    console.log(`Listening on http://${shown}:${port}/`);
    services.log.info("server.listening", {
      hostname,
      port,
      layer: config.channelLayer,
    });
  },
}, app.fetch);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  services.log.info("server.stopping", {
    signal,
    connections: services.connections.size,
  });
  services.connections.closeWhere(
    () => true,
    CloseCode.restart,
    "server restarting",
  );
  const timeout = new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS));
  await Promise.race([server.shutdown(), timeout]);
  await closeServices(services);
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));

/// <reference lib="deno.worker" />
/**
 * One app instance inside a Deno Worker, the way `deno serve --parallel` runs
 * one per worker: told its env by the parent, answers with its port.
 */
import { loadConfig } from "../../../lib/config.ts";
import { quietLogger } from "../../../lib/log.ts";
import { createApp, createServices } from "../../../lib/server.ts";
import { manifest } from "../../../manifest.gen.ts";

self.onmessage = async (event: MessageEvent) => {
  const config = loadConfig(event.data.env);
  const services = await createServices(config, { log: quietLogger });
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, createApp(services, manifest).fetch);
  self.postMessage({ port: server.addr.port });
  self.onmessage = async () => {
    services.connections.closeWhere(() => true, 1001, "stop");
    await server.shutdown();
    await services.close();
    self.postMessage({ stopped: true });
  };
};

/// <reference lib="deno.worker" />
/**
 * One app instance inside a Deno Worker, the way `deno serve --parallel` runs
 * one per worker: told its env by the parent, answers with its port.
 */
import { loadConfig } from "../../../lib/config.ts";
import { quietLogger } from "../../../lib/log.ts";
import { createApp, createServices } from "../../../lib/server.ts";
import { manifest } from "../../../manifest.gen.ts";
import { serveApp } from "../../../lib/net/serve.ts";
import { listenerSettings } from "../../../lib/net/settings.ts";

self.onmessage = async (event: MessageEvent) => {
  const config = loadConfig(event.data.env);
  const services = await createServices(config, { log: quietLogger });
  const server = serveApp(createApp(services, manifest).fetch, {
    hostname: "127.0.0.1",
    port: 0,
    settings: listenerSettings(event.data.env, null, 1, false),
    log: quietLogger,
  });
  self.postMessage({ port: server.addr.port });
  self.onmessage = async () => {
    services.connections.closeWhere(() => true, 1001, "stop");
    await server.shutdown();
    await services.close();
    self.postMessage({ stopped: true });
  };
};

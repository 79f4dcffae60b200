/**
 * Starts the real app in this process on a free 127.0.0.1 port, with an
 * in-memory KV unless the test names a file.
 */
import { loadConfig } from "../../app.config.ts";
import type { Services } from "../../lib/context.ts";
import { quietLogger } from "../../lib/log.ts";
import {
  createApp,
  createServices,
  type ServiceOverrides,
} from "../../lib/server.ts";
import { manifest } from "../../manifest.gen.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { type AppServer, serveApp } from "../../lib/net/serve.ts";
import { listenerSettings } from "../../lib/net/settings.ts";
import { readNofileLimit } from "../../lib/net/nofile.ts";

/** A fixed secret so tests can mint and forge tokens deliberately. */
export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnop";

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  services: Services;
  /** The listener (the guarded one unless `LISTENER=deno`). */
  server: AppServer;
  /** `ws://127.0.0.1:PORT/ws/chat/<room>` */
  wsUrl(room: string): string;
  /** Signs in a guest through the real endpoint; returns the Cookie header value. */
  guest(
    name: string,
  ): Promise<{ cookie: string; user: ChatUser; token: string }>;
  close(): Promise<void>;
}

export async function startServer(
  env: Record<string, string> = {},
  overrides: ServiceOverrides = {},
): Promise<TestServer> {
  const config = loadConfig({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    KV_PATH: ":memory:",
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
    ...env,
  });
  const services = await createServices(config, {
    log: quietLogger,
    ...overrides,
  });
  const app = createApp(services, manifest);
  // The listener the app runs behind, with the test's settings (MAX_CONNECTIONS, timeouts…).
  const settings = listenerSettings(
    { LISTENER: Deno.env.get("LISTENER"), ...env },
    readNofileLimit()?.soft ?? null,
    1,
    false,
  );
  const server = serveApp(app.fetch, {
    hostname: "127.0.0.1",
    port: 0,
    settings,
    log: services.log,
    onDrop: (reason) => services.metrics.drop(`net_${reason}`),
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    server,
    services,
    wsUrl: (room) => `ws://127.0.0.1:${server.addr.port}/ws/chat/${room}`,
    async guest(name) {
      const res = await fetch(`${origin}/api/session/guest`, {
        method: "POST",
        headers: { "content-type": "application/json", origin },
        body: JSON.stringify({ name }),
      });
      if (!res.ok) {
        throw new Error(
          `guest sign-in failed: ${res.status} ${await res.text()}`,
        );
      }
      const { user } = await res.json();
      const setCookie = res.headers.get("set-cookie") ?? "";
      const cookie = setCookie.split(";")[0];
      return { cookie, user, token: cookie.split("=")[1] };
    },
    async close() {
      services.connections.closeWhere(() => true, 1001, "test over");
      await server.shutdown();
      await services.close();
    },
  };
}

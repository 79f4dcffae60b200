/**
 * Starts the real app in this process on a free 127.0.0.1 port, with an
 * in-memory KV unless the test names a file.
 */
import { CROWD_FROM_ONE_ADDRESS, loadConfig } from "../../lib/config.ts";
import type { Services } from "../../lib/context.ts";
import { quietLogger } from "../../lib/log.ts";
import { withTimeout } from "../../lib/async.ts";
import {
  createApp,
  createServices,
  type ServiceOverrides,
} from "../../lib/server.ts";
import { manifest } from "../../manifest.gen.ts";
import { type GuestSession, signInGuest } from "../../support/guest.ts";
import { type AppServer, serveApp } from "../../lib/net/serve.ts";
import type { UpgradeLane } from "../../lib/net/front.ts";
import { listenerSettings } from "../../lib/net/settings.ts";
import { readNofileLimit } from "../../lib/net/nofile.ts";
import { chatSocketLane } from "../../lib/web/socket_lane.ts";

/** A fixed secret so tests can mint and forge tokens deliberately. */
/** Longest a test server's shutdown may take (normally a few ms). */
const SHUTDOWN_BOUND_MS = 15_000;

export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnop";

/**
 * Tests play crowds: many people, all from 127.0.0.1, writing into a few
 * rooms within seconds — where in life each person has an address of their
 * own. So the per-address and per-room budgets are lifted unless a test sets
 * them (the tests of those budgets do); the per-person budget stays.
 */
export { CROWD_FROM_ONE_ADDRESS };

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  services: Services;
  /** The listener (the guarded one unless `LISTENER=deno`). */
  server: AppServer;
  /** `ws://127.0.0.1:PORT/ws/chat/<room>` */
  wsUrl(room: string): string;
  /** Signs in a guest through the real endpoint. */
  guest(name: string): Promise<GuestSession>;
  close(): Promise<void>;
}

/** How a test server is served, besides its environment. */
export interface ServeChoices {
  /**
   * The lane the guarded listener opens chat sockets in: `chatSocketLane`
   * (`lib/web/socket_lane.ts`), as `startInstance` gives it, unless a test
   * compares the lane with the router (none) or watches it.
   */
  upgradeLane?: (services: Services) => UpgradeLane | undefined;
}

export async function startServer(
  env: Record<string, string> = {},
  overrides: ServiceOverrides = {},
  choices: ServeChoices = {},
): Promise<TestServer> {
  const config = loadConfig({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    KV_PATH: ":memory:",
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: "error",
    ...CROWD_FROM_ONE_ADDRESS,
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
    upgradeLane: (choices.upgradeLane ?? chatSocketLane)(services),
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    server,
    services,
    wsUrl: (room) => `ws://127.0.0.1:${server.addr.port}/ws/chat/${room}`,
    guest: (name) => signInGuest(origin, name),
    async close() {
      services.connections.closeWhere(() => true, 1001, "test over");
      // `shutdown` waits for every request in flight: one that never ends is
      // a bug to report, not a reason to hold the suite.
      await withTimeout(
        server.shutdown(),
        SHUTDOWN_BOUND_MS,
        "test server shutdown (a request still in flight)",
      );
      await services.close();
    },
  };
}

/**
 * Serves an app with the chosen listener: the guarded one
 * (`lib/net/front.ts`) or a plain `Deno.serve`. One entry point for the
 * instance and the tests.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import {
  type FrontDrop,
  type FrontStats,
  startFront,
  type UpgradeLane,
} from "./front.ts";
import { LISTEN_BACKLOG, type ListenerSettings } from "./settings.ts";

/** A listening server. */
export interface AppServer {
  addr: Deno.NetAddr;
  /** The guarded listener's counters; null under `Deno.serve`. */
  stats(): FrontStats | null;
  /** Stops accepting and finishes in-flight requests. */
  shutdown(): Promise<void>;
}

/** Options of {@link serveApp}. */
export interface ServeAppOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  settings: ListenerSettings;
  log: Logger;
  onDrop?: (reason: FrontDrop) => void;
  /** Addresses many clients share (trusted proxies): no per-address cap for them. */
  sharedAddress?: (hostname: string) => boolean;
  /** Upgrades the guarded listener answers without a `Request` (ignored under `Deno.serve`). */
  upgradeLane?: UpgradeLane;
}

/**
 * Serves `fetch` (e.g. a Hono app's) on `hostname:port`.
 *
 * @example
 * ```ts
 * const server = serveApp(app.fetch, { hostname: "127.0.0.1", port: 0, settings, log });
 * console.log(server.addr.port);
 * ```
 */
export function serveApp(
  fetch: (req: Request, env: unknown) => Response | Promise<Response>,
  options: ServeAppOptions,
): AppServer {
  const { hostname, port, reusePort, settings, log } = options;
  if (settings.kind === "guarded") {
    const front = startFront({
      hostname,
      port,
      reusePort,
      tcpBacklog: LISTEN_BACKLOG,
      handler: fetch,
      limits: settings.limits,
      log,
      onDrop: options.onDrop,
      sharedAddress: options.sharedAddress,
      upgradeLane: options.upgradeLane,
    });
    return {
      addr: front.addr,
      stats: () => front.stats(),
      shutdown: () => front.shutdown(),
    };
  }
  const server = Deno.serve(
    {
      hostname,
      port,
      reusePort,
      tcpBacklog: LISTEN_BACKLOG,
      onListen: () => {},
    },
    fetch,
  );
  return {
    addr: server.addr,
    stats: () => null,
    shutdown: () => server.shutdown(),
  };
}

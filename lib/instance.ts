/**
 * One serving instance: services, app, `Deno.serve`, and a graceful stop that
 * tells every client to reconnect (1012) and finishes within a bound. Used by
 * `main.ts` and by each extra worker when `WORKERS` > 1.
 *
 * @module
 */

import type { AppConfig } from "./config.ts";
import { CloseCode } from "./shared.ts";
import { HANDOVER_MAX_AGE_MS } from "./auth/session.ts";
import type { Services } from "./context.ts";
import { readNofileLimit } from "./net/nofile.ts";
import { serveApp } from "./net/serve.ts";
import { listenerSettings } from "./net/settings.ts";
import { createApp, createServices } from "./server.ts";
import { resolveLogFormat, stderrIsTerminal } from "./log.ts";
import { startupLine } from "./startup.ts";
import type { Manifest } from "./web/types.ts";
import { chatSocketLane } from "./web/socket_lane.ts";

/** Longest a stop waits for in-flight requests before closing anyway (Deno Deploy allows 5 s). */
export const SHUTDOWN_GRACE_MS = 3_000;

/**
 * Asks Deno's WebSocket server for vectored writes (frame header and payload
 * in one `writev`) instead of copying every frame into a per-socket write
 * buffer. That buffer keeps the capacity of the largest frame the socket ever
 * sent — a `welcome` with history, a presence state, a history page — so an
 * idle socket held that much native memory for as long as it lived (a 13 KB
 * welcome cost 11 KiB per idle socket, measured in `bench/`). Deno reads
 * `DENO_USE_WRITEV` once, at the first server it starts; an explicit value
 * (even empty, which turns it off) wins. Deno Deploy may refuse the write;
 * then nothing changes.
 */
export function preferVectoredWrites(): void {
  try {
    if (Deno.env.get("DENO_USE_WRITEV") === undefined) {
      Deno.env.set("DENO_USE_WRITEV", "1");
    }
  } catch { /* env is read-only here */ }
}

/**
 * Leaves the sessions this instance verified for the next (a restart's
 * reconnects then need no signature check each); a failure costs only that.
 */
async function leaveSessions(services: Services): Promise<void> {
  try {
    const chunks = await services.sessions.exportRemembered();
    // Kept as long as the next process would take them.
    await services.handover.leave(chunks, HANDOVER_MAX_AGE_MS);
  } catch (err) {
    services.log.warn("session.handover_failed", { error: String(err) });
  }
}

/** A running instance. */
export interface Instance {
  services: Services;
  port: number;
  /**
   * Stops accepting, closes sockets with 1012, removes this instance's
   * presence records and announces their leaves, releases everything;
   * bounded by {@link SHUTDOWN_GRACE_MS}.
   */
  stop(reason: string): Promise<void>;
}

/**
 * Starts serving `manifest` with `config`. With `reusePort`, several
 * instances (workers) share one port and the kernel spreads connections.
 */
export async function startInstance(
  config: AppConfig,
  manifest: Manifest,
  options: {
    reusePort?: boolean;
    announce?: boolean;
    /** Where the listener's settings are read (default: the process environment). */
    env?: Record<string, string>;
  } = {},
): Promise<Instance> {
  preferVectoredWrites();
  // Deno raised the soft limit to the hard one at start (see lib/net/nofile.ts).
  const nofile = readNofileLimit();
  const settings = listenerSettings(
    options.env ?? Deno.env.toObject(),
    nofile?.soft ?? null,
    config.workers,
    config.onDeploy,
  );
  const services = await createServices(config);
  const app = createApp(services, manifest);
  const server = serveApp(app.fetch, {
    hostname: config.hostname,
    port: config.port,
    reusePort: options.reusePort,
    settings,
    log: services.log,
    upgradeLane: chatSocketLane(services),
    onDrop: (reason) => services.metrics.drop(`net_${reason}`),
    // Asked on every accept: only when some proxy is trusted.
    sharedAddress: services.trustedProxies.any
      ? (hostname) => services.trustedProxies.has(hostname)
      : undefined,
  });
  const { hostname, port } = server.addr;
  const shown = hostname === "0.0.0.0" ? "localhost" : hostname;
  const announce = options.announce !== false;
  // Scripts and tests read this line to learn the port (support/process.ts).
  if (announce) {
    console.log(
      startupLine(`http://${shown}:${port}/`, config, {
        listener: settings.kind,
      }),
    );
  }
  // On a terminal the line above says it; collectors get the event.
  const human = resolveLogFormat(config.logFormat, stderrIsTerminal()) ===
    "text";
  if (!(announce && human)) {
    services.log.info("server.listening", {
      hostname,
      port,
      layer: config.channelLayer,
      listener: settings.kind,
      nofile: nofile?.soft,
      maxConnections: settings.limits.maxConnections,
      maxMessageBytes: settings.limits.maxMessageBytes,
    });
  }
  let stopping: Promise<void> | null = null;
  return {
    services,
    port,
    stop(reason: string) {
      stopping ??= (async () => {
        services.log.info("server.stopping", {
          reason,
          connections: services.connections.size,
        });
        services.connections.closeWhere(
          () => true,
          CloseCode.restart,
          "server restarting",
        );
        // Let the 1012 close handshakes finish before the server drops what is left.
        await services.connections.drained(SHUTDOWN_GRACE_MS / 2);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise((r) =>
          timer = setTimeout(r, SHUTDOWN_GRACE_MS / 2)
        );
        // The listener stops accepting at once; meanwhile the presence
        // records of every connection this instance held (closed or not: a
        // client may never answer the close) are deleted and their leaves
        // announced, within PRESENCE_RELEASE_MS, before the store is closed.
        await Promise.all([
          Promise.race([server.shutdown(), timeout]).finally(() =>
            clearTimeout(timer)
          ),
          services.presence.stop(),
          leaveSessions(services),
        ]);
        await services.close();
      })();
      return stopping;
    },
  };
}

/**
 * Builds a running instance: services from the configuration, and the Hono
 * app with static files and the file routes.
 *
 * @module
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { serveStatic } from "hono/deno";
import type { AppConfig } from "./config.ts";
import { SessionSigner } from "./auth/session.ts";
import { sessionSecret } from "./auth/session_secret.ts";
import { BroadcastLayer } from "./chat/broadcast_layer.ts";
import { ConnectionRegistry } from "./chat/consumer.ts";
import { KvLayer } from "./chat/kv_layer.ts";
import { type ChannelLayer, MemoryLayer, newInstanceId } from "./chat/layer.ts";
import type { AppEnv, Services } from "./context.ts";
import { createLogger, type Logger } from "./log.ts";
import { createStore } from "./store/stores.ts";
import type { MessageStore } from "./store/types.ts";
import { PresenceTracker } from "./chat/presence_tracker.ts";
import { Lobby } from "./chat/lobby.ts";
import { createBudgets } from "./chat/budgets.ts";
import { PostOrder } from "./chat/post.ts";
import { TrustedProxies } from "./web/client_address.ts";
import { Metrics } from "./metrics.ts";
import { GoogleVerifier } from "./auth/google.ts";
import { BUILD_URL, readAssets } from "./web/build.ts";
import { mountManifest } from "./web/router.ts";
import { routeError } from "./web/errors.ts";
import type { Manifest } from "./web/types.ts";

/** The project root, where `static/` and `_build/` live. */
export const PROJECT_ROOT = new URL("..", import.meta.url).pathname;
/** Cache lifetime for content-hashed files: one year, immutable. */
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";

/** Creates the group layer named by `config.channelLayer`. */
export async function createLayer(
  config: AppConfig,
  log: Logger,
): Promise<ChannelLayer> {
  switch (config.channelLayer) {
    case "memory":
      return new MemoryLayer();
    case "broadcast":
      return new BroadcastLayer();
    case "redis": {
      const { RedisLayer } = await import("./chat/redis_layer.ts");
      return await RedisLayer.connect(config.redisUrl, { log });
    }
    case "kv":
      return await KvLayer.open(config.kvPath, { log });
  }
}

/**
 * Optional parts a caller (a test, a benchmark) supplies instead of the
 * defaults. They stay the caller's: `Services.close()` releases only what
 * `createServices` opened.
 */
export interface ServiceOverrides {
  layer?: ChannelLayer;
  /** Message history in place of the configured store's. */
  store?: MessageStore;
  log?: Logger;
}

/** How often live sockets re-check their session (expired or signed out anywhere). */
export const SESSION_RECHECK_MS = 5_000;

/** Opens the stores and layer, reads the build's asset list, starts the session re-check. */
export async function createServices(
  config: AppConfig,
  overrides: ServiceOverrides = {},
): Promise<Services> {
  const log = overrides.log ?? createLogger(config.logLevel, config.logFormat);
  const assets = await readAssets(PROJECT_ROOT);
  if (!assets) throw new Error("no build found: run `deno task build` first");
  const stores = await createStore(config);
  let layer: ChannelLayer | undefined;
  let presence: PresenceTracker;
  try {
    // Services see the key that signs, not the candidate loadConfig generated.
    config = {
      ...config,
      sessionSecret: await sessionSecret(config, stores.secrets, log),
    };
    layer = overrides.layer ?? await createLayer(config, log);
    presence = new PresenceTracker(
      stores.presence,
      newInstanceId(),
      layer,
      log,
    );
    await presence.start();
  } catch (err) {
    // A start-up that fails part-way releases what it opened.
    if (layer && !overrides.layer) await layer.close().catch(() => {});
    await stores.close();
    throw err;
  }
  const store = overrides.store ?? stores.messages;
  const sessions = new SessionSigner(config.sessionSecret, {
    previous: config.sessionSecretPrevious,
    ttlSeconds: config.sessionTtlSeconds,
  });
  // The sessions the last process verified (a restart's reconnects): a
  // handover that cannot be read costs only those checks.
  await stores.handover.collect()
    .then((chunks) => sessions.importRemembered(chunks))
    .then((taken) => {
      if (taken > 0) log.info("session.handover_taken", { sessions: taken });
    })
    .catch((err) =>
      log.warn("session.handover_failed", { error: String(err) })
    );
  const connections = new ConnectionRegistry();
  const { revocations } = stores;
  // Reads the revocation generation before any socket's session is checked:
  // sockets then opened need no re-check read until a revocation moves it.
  await connections.enforceSessions(revocations).catch((err) =>
    log.warn("session.recheck_failed", { error: String(err) })
  );
  const recheck = setInterval(() => {
    connections.enforceSessions(revocations).catch((err) =>
      log.warn("session.recheck_failed", { error: String(err) })
    );
  }, SESSION_RECHECK_MS);
  let closed = false;
  return {
    config,
    layer,
    store,
    rooms: stores.rooms,
    bindGuestAddresses: config.guestsPerIpPerHour > 0,
    users: stores.users,
    invites: stores.invites,
    directs: stores.directs,
    directory: stores.directory,
    sessions,
    handover: stores.handover,
    revocations,
    google: config.googleClientIds.length > 0
      ? new GoogleVerifier({
        clientIds: config.googleClientIds,
        jwksUrl: config.googleJwksUrl,
        allowedDomains: config.googleAllowedDomains,
      })
      : null,
    connections,
    presence,
    lobby: new Lobby(store, presence, stores.rooms),
    limits: {
      burst: config.rateLimitBurst,
      perSecond: config.rateLimitPerSecond,
    },
    posting: {
      allowGuests: config.allowGuests,
      editWindowMs: config.editWindowMinutes * 60_000,
    },
    budgets: createBudgets(config),
    postOrder: new PostOrder(),
    trustedProxies: new TrustedProxies(config.trustProxy),
    metrics: new Metrics(),
    log,
    assets,
    root: PROJECT_ROOT,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(recheck);
      await presence.stop();
      if (!overrides.layer) await layer.close();
      await stores.close();
    },
  };
}

/**
 * The Hono app: services on the context, built assets and `static/` files,
 * then every route of `manifest`.
 */
export function createApp(
  services: Services,
  manifest: Manifest,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("services", services);
    c.set("assets", services.assets);
    await next();
  });
  // Routes' middleware (security headers, request ids) runs first, so static
  // files get the same headers; the static handlers answer what no route does.
  mountManifest(app, manifest);
  app.use(
    `${BUILD_URL}/*`,
    serveStatic({
      root: services.root,
      onFound: (_path, c) => {
        c.header("Cache-Control", IMMUTABLE_CACHE);
      },
    }),
  );
  app.use(
    "/static/*",
    serveStatic({
      root: services.root,
      onFound: (_path, c) => {
        c.header("Cache-Control", "public, max-age=3600");
      },
    }),
  );
  app.notFound((c) => routeError(c, "not_found"));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    services.log.error("http.error", {
      id: c.get("requestId"),
      path: c.req.path,
      error: String(err),
    });
    return routeError(c, "internal");
  });
  return app;
}

/**
 * Typed settings, read once from the environment at start (the role
 * `fresh.config.ts` plays in Fresh). Every setting has a safe default for
 * local development; an invalid value stops the start with its name.
 *
 * One reader per area — {@link serverConfig}, {@link layerConfig},
 * {@link storageConfig}, {@link authConfig}, {@link limitsConfig},
 * {@link logConfig} — and {@link loadConfig} joins them into one flat
 * {@link AppConfig}.
 *
 * @module
 */

import { LAYER_KINDS, type LayerKind } from "./chat/layer.ts";
import { MESSAGE_BURST, MESSAGE_RATE_PER_S } from "./chat/rate_limit.ts";
import { isKvConnect } from "./store/kv.ts";
import { STORE_KINDS, type StoreOptions } from "./store/types.ts";
import { parseCidr } from "./web/client_address.ts";

/** Where and how the process runs. */
export interface ServerConfig {
  /** TCP port (`PORT`, default 8000; 0 picks a free port). */
  port: number;
  /** Interface to listen on (`HOSTNAME`, default 0.0.0.0). */
  hostname: string;
  /**
   * Serving workers in this process sharing the port (`WORKERS`, default 1;
   * "auto" = one per core). Not on Deno Deploy, which adds instances itself.
   */
  workers: number;
  /**
   * Listen with `SO_REUSEPORT` even with one worker (`REUSE_PORT`, default
   * off), so several processes on one machine serve one port and the kernel
   * spreads new connections over them. Each process has its own `nofile`
   * limit, so this is how one machine holds more sockets than one process may
   * open. Needs a layer that spans processes (`redis`, or `kv` over KV
   * Connect) and a shared store. Not on Deno Deploy.
   */
  reusePort: boolean;
  /** `production` refuses to start without a session secret (`ROOMCAST_ENV`). */
  production: boolean;
  /**
   * Running on Deno Deploy: `DENO_DEPLOYMENT_ID` is set (by the platform, on
   * Deploy Classic and the new Deploy alike; users cannot set `DENO_*`
   * variables there).
   */
  onDeploy: boolean;
  /**
   * Bearer token that opens `GET /metrics` (`METRICS_TOKEN`); unset, only
   * clients on this machine (loopback) may read it.
   */
  metricsToken: string | undefined;
  /**
   * Host names this server answers to (`ALLOWED_HOSTS`, comma separated,
   * `name` or `name:port`; empty = any). Same-origin checks trust the `Host`
   * header, so a public deployment names its hosts (as Django's
   * `ALLOWED_HOSTS`), which also stops DNS-rebinding pages.
   */
  allowedHosts: string[];
}

/** The group layer joining instances. */
export interface LayerConfig {
  /**
   * Group layer backend (`CHANNEL_LAYER`: memory | broadcast | redis | kv).
   * Default by place: `kv` on Deno Deploy; `broadcast` with several `WORKERS`
   * (`kv` where `BroadcastChannel` is missing); `memory` otherwise.
   */
  channelLayer: LayerKind;
  /** Redis URL for the redis layer (`REDIS_URL`). */
  redisUrl: string;
}

/**
 * Where messages, presence, users and revocations are kept: the backend
 * (`STORE`, default kv), the Deno KV location (`KV_PATH`, default
 * `./data/roomcast.kv`; Deno Deploy's own KV there; `:memory:` for tests),
 * the messages kept per room (`HISTORY_RETENTION`, default 10000) and the days
 * every message is kept even beyond that count (`HISTORY_MIN_AGE_DAYS`,
 * default 7; 0 = by count alone).
 */
export type StorageConfig = StoreOptions;

/** Sessions and sign-in. */
export interface AuthConfig {
  /** HS256 key for session JWTs (`SESSION_SECRET`, ≥ 32 chars). Generated in development when unset; see {@link AuthConfig.sessionSecretGenerated}. */
  sessionSecret: string;
  /** Previous key, still accepted for verification during a rotation (`SESSION_SECRET_PREVIOUS`). */
  sessionSecretPrevious: string | undefined;
  /**
   * True when `SESSION_SECRET` is unset (development): `sessionSecret` is then
   * a fresh candidate, and the instance signs with the key kept with its data
   * (the first candidate stored there; see `lib/auth/session_secret.ts`).
   */
  sessionSecretGenerated: boolean;
  /** Session lifetime in seconds (`SESSION_TTL_SECONDS`, default 7 days). */
  sessionTtlSeconds: number;
  /** Origins allowed besides the request's own (`ALLOWED_ORIGINS`, comma separated). */
  allowedOrigins: string[];
  /** Whether guests may sign in and post (`ALLOW_GUESTS`, default true). */
  allowGuests: boolean;
  /** How long an author may edit a message, in minutes (`EDIT_WINDOW_MINUTES`, default 1440: a day). */
  editWindowMinutes: number;
  /** OAuth client ids accepted as the ID token audience (`GOOGLE_CLIENT_ID`, comma separated); empty = Google sign-in off. */
  googleClientIds: string[];
  /** Google's JWKS (`GOOGLE_JWKS_URL`); tests point it at a local server. */
  googleJwksUrl: string;
  /** If set, only these Workspace domains (`hd` claim) may sign in (`GOOGLE_ALLOWED_DOMAINS`). */
  googleAllowedDomains: string[];
}

/**
 * Flood control: budgets per person, per client address and per room. Per
 * address limits are on by default; behind a reverse proxy set `TRUST_PROXY`
 * so the address is the client's, not the proxy's.
 */
export interface LimitsConfig {
  /** Messages a person may send in a burst, over every socket and HTTP (`RATE_LIMIT_BURST`, default 20). */
  rateLimitBurst: number;
  /** Sustained messages per second per person (`RATE_LIMIT_PER_SECOND`, default 2: 10 per 5 s). */
  rateLimitPerSecond: number;
  /** Messages everyone at one address may send in a burst (`MESSAGES_PER_IP_BURST`, default 60). */
  messagesPerIpBurst: number;
  /** Sustained messages per second per address (`MESSAGES_PER_IP_PER_SECOND`, default 20). */
  messagesPerIpPerSecond: number;
  /** Messages one room stores in a burst (`ROOM_MESSAGES_BURST`, default 100). */
  roomMessagesBurst: number;
  /** Sustained messages per second one room stores (`ROOM_MESSAGES_PER_SECOND`, default 10). */
  roomMessagesPerSecond: number;
  /** Sockets one user may hold on one instance (`MAX_SOCKETS_PER_USER`, default 20). */
  maxSocketsPerUser: number;
  /** Sockets one client address may hold on one instance (`MAX_SOCKETS_PER_IP`, default 500; 0 = no cap). */
  maxSocketsPerIp: number;
  /** New sockets per client address per minute (`CONNECTS_PER_IP_PER_MINUTE`, default 300; 0 = no cap). */
  connectsPerIpPerMinute: number;
  /** Guest sessions one address may start per hour (`GUESTS_PER_IP_PER_HOUR`, default 60; 0 = no cap). */
  guestsPerIpPerHour: number;
  /** Proxies whose `X-Forwarded-For`/`-Proto` are believed (`TRUST_PROXY`: CIDRs, comma separated; default none). */
  trustProxy: string[];
}

/** Logging. */
export interface LogConfig {
  /** Log level (`LOG_LEVEL`: debug | info | warn | error; default info). */
  logLevel: "debug" | "info" | "warn" | "error";
  /** Log lines (`LOG_FORMAT`: json | text | auto; default auto: text on a terminal, JSON elsewhere). */
  logFormat: "auto" | "json" | "text";
}

/** Everything the app reads from its environment. */
export type AppConfig =
  & ServerConfig
  & LayerConfig
  & StorageConfig
  & AuthConfig
  & LimitsConfig
  & LogConfig;

/** A setting that could not be used; the message names it. */
export class ConfigError extends Error {
  constructor(readonly setting: string, detail: string) {
    super(`Invalid ${setting}: ${detail}`);
    this.name = "ConfigError";
  }
}

/**
 * Settings that lift every per-address and per-room budget, for a load
 * generator or a test suite that stands in for many people from one address
 * (the per-person budget stays). Never for production.
 */
export const CROWD_FROM_ONE_ADDRESS: Readonly<Record<string, string>> = {
  MESSAGES_PER_IP_BURST: "1000000",
  MESSAGES_PER_IP_PER_SECOND: "1000000",
  ROOM_MESSAGES_BURST: "1000000",
  ROOM_MESSAGES_PER_SECOND: "1000000",
  MAX_SOCKETS_PER_IP: "0",
  MAX_CONNECTIONS_PER_IP: "0",
  CONNECTS_PER_IP_PER_MINUTE: "0",
  GUESTS_PER_IP_PER_HOUR: "0",
};

/** Environment variables by name, as `Deno.env.toObject()` gives them. */
export type Env = Record<string, string | undefined>;

/** What the running Deno offers that the choice of a group layer depends on. */
export interface RuntimeFeatures {
  /**
   * `BroadcastChannel` exists. Stable in the CLI since Deno 2.6; a runtime
   * that lags the CLI (Deno Deploy named 2.5) may lack it.
   */
  broadcastChannel: boolean;
}

/**
 * The features of this runtime.
 *
 * @example
 * ```ts
 * runtimeFeatures().broadcastChannel; // true on Deno 2.9
 * ```
 */
export function runtimeFeatures(): RuntimeFeatures {
  return { broadcastChannel: typeof BroadcastChannel === "function" };
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** `auto`: human lines on a terminal, JSON elsewhere (`lib/log.ts`). */
const LOG_FORMATS = ["auto", "json", "text"] as const;
/** Shortest `SESSION_SECRET` accepted: 256 bits of HS256 key. */
export const MIN_SECRET_CHARS = 32;
/** Google's published signing keys for ID tokens. */
export const GOOGLE_JWKS_DEFAULT = "https://www.googleapis.com/oauth2/v3/certs";

function int(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      name,
      `expected an integer from ${min} to ${max}, got "${raw}"`,
    );
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${env[name]}"`);
}

function oneOf<T extends string>(
  env: Env,
  name: string,
  options: readonly T[],
  fallback: T,
): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!(options as readonly string[]).includes(raw)) {
    throw new ConfigError(
      name,
      `expected one of ${options.join(", ")}, got "${raw}"`,
    );
  }
  return raw as T;
}

function origins(env: Env, name: string): string[] {
  const raw = env[name];
  if (!raw) return [];
  return raw.split(",").map((s) => s.trim()).filter(Boolean).map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ConfigError(
        name,
        `"${entry}" is not an origin like https://chat.example.com`,
      );
    }
    if (
      !["http:", "https:"].includes(url.protocol) ||
      url.origin !== entry.replace(/\/$/, "")
    ) {
      throw new ConfigError(
        name,
        `"${entry}" is not an origin like https://chat.example.com`,
      );
    }
    return url.origin;
  });
}

function cidrs(env: Env, name: string): string[] {
  const entries = list(env[name]);
  for (const entry of entries) {
    if (!parseCidr(entry)) {
      throw new ConfigError(
        name,
        `"${entry}" is not an address or CIDR like 10.0.0.0/8 or fd00::/8`,
      );
    }
  }
  return entries;
}

function list(raw: string | undefined): string[] {
  return (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Port, interface, workers and the kind of environment.
 *
 * @example
 * ```ts
 * serverConfig({ PORT: "0", WORKERS: "2" }).workers; // 2
 * ```
 */
export function serverConfig(env: Env): ServerConfig {
  const production =
    oneOf(env, "ROOMCAST_ENV", ["development", "production"], "development") ===
      "production";
  const onDeploy = Boolean(env.DENO_DEPLOYMENT_ID);
  const workers = env.WORKERS === "auto"
    ? navigator.hardwareConcurrency
    : int(env, "WORKERS", 1, 1, 64);
  if (onDeploy && workers > 1) {
    // Deploy runs one instance per isolate and starts more itself; a Worker
    // there would also open KV without a path, which the CLI gives a private
    // in-memory database in a Worker.
    throw new ConfigError(
      "WORKERS",
      "does not apply on Deno Deploy (it adds instances itself): unset it",
    );
  }
  const reusePort = bool(env, "REUSE_PORT", false);
  if (onDeploy && reusePort) {
    throw new ConfigError(
      "REUSE_PORT",
      "does not apply on Deno Deploy (it adds instances itself): unset it",
    );
  }
  return {
    port: int(env, "PORT", 8000, 0, 65535),
    hostname: env.HOSTNAME || "0.0.0.0",
    workers,
    reusePort,
    production,
    onDeploy,
    metricsToken: env.METRICS_TOKEN || undefined,
    allowedHosts: list(env.ALLOWED_HOSTS).map((h) => h.toLowerCase()),
  };
}

/**
 * The group layer, by place: on Deno Deploy `kv` (its instances are isolated
 * from each other and share only the app's KV database); with several
 * `WORKERS` `broadcast`, the cheapest that spans the workers of one process
 * (no KV operation per event), or `kv` where `BroadcastChannel` is missing;
 * else `memory`. A layer that cannot span what runs is refused by name.
 *
 * @example
 * ```ts
 * const server = serverConfig({ DENO_DEPLOYMENT_ID: "a1b2c3" });
 * layerConfig({}, server).channelLayer; // "kv"
 * layerConfig({ CHANNEL_LAYER: "broadcast" }, serverConfig({}), { broadcastChannel: false });
 * // throws ConfigError: Invalid CHANNEL_LAYER: …
 * ```
 */
export function layerConfig(
  env: Env,
  server: ServerConfig,
  features: RuntimeFeatures = runtimeFeatures(),
): LayerConfig {
  const redisUrl = env.REDIS_URL || "redis://127.0.0.1:6379";
  if (!/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(
      "REDIS_URL",
      `expected redis://host:port, got "${redisUrl}"`,
    );
  }
  const fallback: LayerKind = server.onDeploy
    ? "kv"
    : server.workers === 1
    ? "memory"
    : features.broadcastChannel
    ? "broadcast"
    : "kv";
  const channelLayer = oneOf(env, "CHANNEL_LAYER", LAYER_KINDS, fallback);
  if (channelLayer === "broadcast" && !features.broadcastChannel) {
    throw new ConfigError(
      "CHANNEL_LAYER",
      "broadcast needs BroadcastChannel, which this runtime does not have: use kv or redis",
    );
  }
  if (
    server.onDeploy &&
    (channelLayer === "memory" || channelLayer === "broadcast")
  ) {
    throw new ConfigError(
      "CHANNEL_LAYER",
      `${channelLayer} does not reach Deno Deploy's other instances: use kv (the default there) or redis`,
    );
  }
  if (server.workers > 1 && channelLayer === "memory") {
    throw new ConfigError(
      "CHANNEL_LAYER",
      "memory cannot span several WORKERS: use broadcast, kv or redis",
    );
  }
  if (server.reusePort) {
    // REUSE_PORT is for several processes: the layer must reach the others.
    if (channelLayer === "memory" || channelLayer === "broadcast") {
      throw new ConfigError(
        "CHANNEL_LAYER",
        `${channelLayer} cannot span the processes REUSE_PORT is for: use redis (or kv with KV Connect)`,
      );
    }
    if (channelLayer === "kv" && !isKvConnect(env.KV_PATH)) {
      throw new ConfigError(
        "CHANNEL_LAYER",
        "kv on a local file does not wake other processes' watches (denoland/deno#21640), which REUSE_PORT is for: use redis, or kv with KV Connect",
      );
    }
  }
  return { channelLayer, redisUrl };
}

/** The storage backend and its location; Deno Deploy always uses its own KV. */
export function storageConfig(env: Env, server: ServerConfig): StorageConfig {
  const kvPath = server.onDeploy
    ? undefined
    : (env.KV_PATH || "./data/roomcast.kv");
  if (server.workers > 1 && kvPath === ":memory:") {
    throw new ConfigError(
      "KV_PATH",
      ":memory: cannot be shared by several WORKERS: use a file",
    );
  }
  if (server.reusePort && kvPath === ":memory:") {
    throw new ConfigError(
      "KV_PATH",
      ":memory: cannot be shared by the processes REUSE_PORT is for: use a file or KV Connect",
    );
  }
  return {
    store: oneOf(env, "STORE", STORE_KINDS, "kv"),
    kvPath,
    historyRetention: int(env, "HISTORY_RETENTION", 10_000, 100, 1_000_000),
    historyMinAgeDays: int(env, "HISTORY_MIN_AGE_DAYS", 7, 0, 3_650),
  };
}

/** Session keys and lifetime, allowed origins, guest and Google sign-in. */
export function authConfig(env: Env, server: ServerConfig): AuthConfig {
  let sessionSecret = env.SESSION_SECRET ?? "";
  let sessionSecretGenerated = false;
  if (sessionSecret === "") {
    if (server.production || server.onDeploy) {
      throw new ConfigError(
        "SESSION_SECRET",
        "required in production (32 or more characters)",
      );
    }
    sessionSecret = randomSecret();
    sessionSecretGenerated = true;
  } else if (sessionSecret.length < MIN_SECRET_CHARS) {
    throw new ConfigError(
      "SESSION_SECRET",
      `must be at least ${MIN_SECRET_CHARS} characters`,
    );
  }
  const previous = env.SESSION_SECRET_PREVIOUS || undefined;
  if (previous !== undefined && previous.length < MIN_SECRET_CHARS) {
    throw new ConfigError(
      "SESSION_SECRET_PREVIOUS",
      `must be at least ${MIN_SECRET_CHARS} characters`,
    );
  }
  const googleJwksUrl = env.GOOGLE_JWKS_URL || GOOGLE_JWKS_DEFAULT;
  if (!/^https?:\/\//.test(googleJwksUrl)) {
    throw new ConfigError(
      "GOOGLE_JWKS_URL",
      `expected an http(s) URL, got "${googleJwksUrl}"`,
    );
  }
  const googleClientIds = list(env.GOOGLE_CLIENT_ID);
  for (const id of googleClientIds) {
    if (!/^[\w.-]+$/.test(id)) {
      throw new ConfigError(
        "GOOGLE_CLIENT_ID",
        `"${id}" does not look like an OAuth client id`,
      );
    }
  }
  return {
    sessionSecret,
    sessionSecretPrevious: previous,
    sessionSecretGenerated,
    sessionTtlSeconds: int(
      env,
      "SESSION_TTL_SECONDS",
      7 * 24 * 3600,
      60,
      365 * 24 * 3600,
    ),
    allowedOrigins: origins(env, "ALLOWED_ORIGINS"),
    allowGuests: bool(env, "ALLOW_GUESTS", true),
    // 0 turns editing off; at most a year.
    editWindowMinutes: int(env, "EDIT_WINDOW_MINUTES", 1_440, 0, 525_600),
    googleClientIds,
    googleJwksUrl,
    googleAllowedDomains: list(env.GOOGLE_ALLOWED_DOMAINS).map((d) =>
      d.toLowerCase()
    ),
  };
}

/** Message rates and socket caps. */
export function limitsConfig(env: Env): LimitsConfig {
  return {
    rateLimitBurst: int(env, "RATE_LIMIT_BURST", MESSAGE_BURST, 1, 100_000),
    rateLimitPerSecond: int(
      env,
      "RATE_LIMIT_PER_SECOND",
      MESSAGE_RATE_PER_S,
      1,
      100_000,
    ),
    messagesPerIpBurst: int(env, "MESSAGES_PER_IP_BURST", 60, 1, 1_000_000),
    messagesPerIpPerSecond: int(
      env,
      "MESSAGES_PER_IP_PER_SECOND",
      20,
      1,
      1_000_000,
    ),
    roomMessagesBurst: int(env, "ROOM_MESSAGES_BURST", 100, 1, 1_000_000),
    roomMessagesPerSecond: int(
      env,
      "ROOM_MESSAGES_PER_SECOND",
      10,
      1,
      1_000_000,
    ),
    maxSocketsPerUser: int(env, "MAX_SOCKETS_PER_USER", 20, 1, 100_000),
    maxSocketsPerIp: int(env, "MAX_SOCKETS_PER_IP", 500, 0, 1_000_000),
    connectsPerIpPerMinute: int(
      env,
      "CONNECTS_PER_IP_PER_MINUTE",
      300,
      0,
      1_000_000,
    ),
    guestsPerIpPerHour: int(env, "GUESTS_PER_IP_PER_HOUR", 60, 0, 1_000_000),
    trustProxy: cidrs(env, "TRUST_PROXY"),
  };
}

/** The log level and format. */
export function logConfig(env: Env): LogConfig {
  return {
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    logFormat: oneOf(env, "LOG_FORMAT", LOG_FORMATS, "auto"),
  };
}

/**
 * Reads the configuration from `env`; `features` (default: this runtime's)
 * decide whether `broadcast` can be used.
 *
 * @example
 * ```ts
 * const config = loadConfig({ PORT: "0", KV_PATH: ":memory:" });
 * ```
 * @throws {ConfigError} naming the first invalid setting.
 */
export function loadConfig(
  env: Env = Deno.env.toObject(),
  features: RuntimeFeatures = runtimeFeatures(),
): AppConfig {
  const server = serverConfig(env);
  return {
    ...server,
    ...authConfig(env, server),
    ...layerConfig(env, server, features),
    ...storageConfig(env, server),
    ...limitsConfig(env),
    ...logConfig(env),
  };
}

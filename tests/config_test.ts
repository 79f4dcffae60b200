import assert from "node:assert/strict";
import {
  ConfigError,
  loadConfig,
  MIN_SECRET_CHARS,
  type RuntimeFeatures,
  runtimeFeatures,
} from "../lib/config.ts";
import { DEPLOY_ENV } from "./_helpers/deploy.ts";
import { MESSAGE_BURST, MESSAGE_RATE_PER_S } from "../lib/chat/rate_limit.ts";

const SECRET = "s".repeat(MIN_SECRET_CHARS);

/** Asserts that `env` is refused with a ConfigError naming `setting` (on a runtime with `features`). */
function refuses(
  env: Record<string, string>,
  setting: string,
  features: RuntimeFeatures = runtimeFeatures(),
): void {
  assert.throws(
    () => loadConfig(env, features),
    (err: unknown) => {
      assert.ok(
        err instanceof ConfigError,
        `expected a ConfigError, got ${err}`,
      );
      assert.equal(err.setting, setting);
      assert.equal(err.name, "ConfigError");
      assert.ok(err.message.includes(setting), err.message);
      return true;
    },
    `${JSON.stringify(env)} should be refused for ${setting}`,
  );
}

Deno.test("loadConfig: an empty environment gives safe development defaults", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.hostname, "0.0.0.0");
  assert.equal(config.channelLayer, "memory");
  assert.equal(config.redisUrl, "redis://127.0.0.1:6379");
  assert.equal(config.kvPath, "./data/roomcast.kv");
  assert.equal(config.sessionSecretPrevious, undefined);
  assert.equal(config.sessionTtlSeconds, 7 * 24 * 3600);
  assert.deepEqual(config.allowedOrigins, []);
  assert.equal(config.allowGuests, true);
  assert.equal(config.historyRetention, 10_000);
  assert.equal(config.rateLimitBurst, MESSAGE_BURST);
  assert.equal(config.rateLimitPerSecond, MESSAGE_RATE_PER_S);
  assert.equal(config.production, false);
  assert.equal(config.onDeploy, false);
  assert.equal(config.logLevel, "info");
});

Deno.test("loadConfig: development without SESSION_SECRET generates a strong, fresh one", () => {
  const a = loadConfig({});
  const b = loadConfig({ SESSION_SECRET: "" });
  assert.equal(a.sessionSecretGenerated, true);
  assert.equal(b.sessionSecretGenerated, true);
  assert.ok(a.sessionSecret.length >= MIN_SECRET_CHARS, a.sessionSecret);
  // 32 random bytes: two starts never share a secret.
  assert.notEqual(a.sessionSecret, b.sessionSecret);
  assert.equal(atob(a.sessionSecret).length, 32);
});

Deno.test("loadConfig: a given SESSION_SECRET is used as is", () => {
  const config = loadConfig({ SESSION_SECRET: SECRET });
  assert.equal(config.sessionSecret, SECRET);
  assert.equal(config.sessionSecretGenerated, false);
  const rotated = loadConfig({
    SESSION_SECRET: SECRET,
    SESSION_SECRET_PREVIOUS: "p".repeat(40),
  });
  assert.equal(rotated.sessionSecretPrevious, "p".repeat(40));
});

Deno.test("loadConfig: values are read", () => {
  const config = loadConfig({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    CHANNEL_LAYER: "broadcast",
    REDIS_URL: "rediss://cache.example.com:6380",
    KV_PATH: ":memory:",
    SESSION_TTL_SECONDS: "3600",
    ALLOWED_ORIGINS: " https://chat.example.com , http://localhost:3000/ ,",
    ALLOW_GUESTS: "no",
    HISTORY_RETENTION: "500",
    RATE_LIMIT_BURST: "5",
    RATE_LIMIT_PER_SECOND: "1",
    LOG_LEVEL: "debug",
    ROOMCAST_ENV: "production",
    SESSION_SECRET: SECRET,
  });
  assert.equal(config.port, 0);
  assert.equal(config.hostname, "127.0.0.1");
  assert.equal(config.channelLayer, "broadcast");
  assert.equal(config.redisUrl, "rediss://cache.example.com:6380");
  assert.equal(config.kvPath, ":memory:");
  assert.equal(config.sessionTtlSeconds, 3600);
  assert.deepEqual(config.allowedOrigins, [
    "https://chat.example.com",
    "http://localhost:3000",
  ]);
  assert.equal(config.allowGuests, false);
  assert.equal(config.historyRetention, 500);
  assert.equal(config.rateLimitBurst, 5);
  assert.equal(config.rateLimitPerSecond, 1);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.production, true);
  assert.equal(config.sessionSecretGenerated, false);
});

Deno.test("loadConfig: booleans accept the usual spellings", () => {
  for (const yes of ["1", "true", "TRUE", "yes", "on", "On"]) {
    assert.equal(loadConfig({ ALLOW_GUESTS: yes }).allowGuests, true, yes);
  }
  for (const no of ["0", "false", "False", "no", "off", "OFF"]) {
    assert.equal(loadConfig({ ALLOW_GUESTS: no }).allowGuests, false, no);
  }
  assert.equal(loadConfig({ ALLOW_GUESTS: "" }).allowGuests, true);
});

Deno.test("loadConfig: an invalid PORT is refused by name", () => {
  for (const port of ["abc", "-1", "65536", "80.5", "NaN", "8000abc"]) {
    refuses({ PORT: port }, "PORT");
  }
  assert.equal(loadConfig({ PORT: "65535" }).port, 65535);
});

Deno.test("loadConfig: an unknown CHANNEL_LAYER is refused by name", () => {
  for (const layer of ["foo", "Memory", "redis ", "kafka"]) {
    refuses({ CHANNEL_LAYER: layer }, "CHANNEL_LAYER");
  }
  for (const layer of ["memory", "broadcast", "redis"] as const) {
    assert.equal(loadConfig({ CHANNEL_LAYER: layer }).channelLayer, layer);
  }
});

Deno.test("loadConfig: ALLOWED_ORIGINS entries must be bare http(s) origins", () => {
  for (
    const value of [
      "not-a-url",
      "chat.example.com",
      "https://chat.example.com/path",
      "https://chat.example.com?x=1",
      "ftp://chat.example.com",
      "javascript:alert(1)",
      "https://ok.example.com,not-a-url",
      "*",
    ]
  ) {
    refuses({ ALLOWED_ORIGINS: value }, "ALLOWED_ORIGINS");
  }
});

Deno.test("loadConfig: a SESSION_SECRET shorter than 32 characters is refused", () => {
  refuses({ SESSION_SECRET: "short" }, "SESSION_SECRET");
  refuses(
    { SESSION_SECRET: "x".repeat(MIN_SECRET_CHARS - 1) },
    "SESSION_SECRET",
  );
  refuses(
    {
      ROOMCAST_ENV: "production",
      SESSION_SECRET: "x".repeat(MIN_SECRET_CHARS - 1),
    },
    "SESSION_SECRET",
  );
  refuses(
    { SESSION_SECRET: SECRET, SESSION_SECRET_PREVIOUS: "old" },
    "SESSION_SECRET_PREVIOUS",
  );
});

Deno.test("loadConfig: production and Deno Deploy require SESSION_SECRET", () => {
  refuses({ ROOMCAST_ENV: "production" }, "SESSION_SECRET");
  refuses({ ROOMCAST_ENV: "production", SESSION_SECRET: "" }, "SESSION_SECRET");
  refuses({ DENO_DEPLOYMENT_ID: "abc123" }, "SESSION_SECRET");
  const deploy = loadConfig({
    DENO_DEPLOYMENT_ID: "abc123",
    SESSION_SECRET: SECRET,
    KV_PATH: "./x.kv",
  });
  assert.equal(deploy.onDeploy, true);
  // On Deploy the platform's KV is used whatever KV_PATH says.
  assert.equal(deploy.kvPath, undefined);
});

Deno.test("loadConfig: an unknown ROOMCAST_ENV is refused by name", () => {
  refuses({ ROOMCAST_ENV: "prod" }, "ROOMCAST_ENV");
  refuses({ ROOMCAST_ENV: "Production" }, "ROOMCAST_ENV");
});

Deno.test("loadConfig: ALLOW_GUESTS must be a boolean", () => {
  for (const value of ["maybe", "2", "y", "enabled"]) {
    refuses({ ALLOW_GUESTS: value }, "ALLOW_GUESTS");
  }
});

Deno.test("loadConfig: other settings are range-checked by name", () => {
  refuses({ SESSION_TTL_SECONDS: "59" }, "SESSION_TTL_SECONDS");
  refuses({ SESSION_TTL_SECONDS: "forever" }, "SESSION_TTL_SECONDS");
  refuses({ HISTORY_RETENTION: "99" }, "HISTORY_RETENTION");
  refuses({ HISTORY_RETENTION: "1000001" }, "HISTORY_RETENTION");
  refuses({ RATE_LIMIT_BURST: "0" }, "RATE_LIMIT_BURST");
  refuses({ RATE_LIMIT_PER_SECOND: "0.5" }, "RATE_LIMIT_PER_SECOND");
  refuses({ LOG_LEVEL: "verbose" }, "LOG_LEVEL");
  refuses({ REDIS_URL: "http://cache.example.com" }, "REDIS_URL");
});

Deno.test("loadConfig: STORE names a storage backend; an unknown one is refused by name", () => {
  assert.equal(loadConfig({}).store, "kv");
  assert.equal(loadConfig({ STORE: "kv" }).store, "kv");
  for (const store of ["KV", "postgres", "memory"]) {
    refuses({ STORE: store }, "STORE");
  }
});

const DEPLOY = { ...DEPLOY_ENV, SESSION_SECRET: SECRET };
const WITH_BROADCAST: RuntimeFeatures = { broadcastChannel: true };
const WITHOUT_BROADCAST: RuntimeFeatures = { broadcastChannel: false };

Deno.test("loadConfig: the default layer depends on the place: memory, broadcast for WORKERS, kv without BroadcastChannel and on Deno Deploy", () => {
  const layer = (env: Record<string, string>, features: RuntimeFeatures) =>
    loadConfig(env, features).channelLayer;
  assert.equal(layer({}, WITH_BROADCAST), "memory");
  assert.equal(layer({}, WITHOUT_BROADCAST), "memory");
  assert.equal(layer({ WORKERS: "2" }, WITH_BROADCAST), "broadcast");
  assert.equal(layer({ WORKERS: "2" }, WITHOUT_BROADCAST), "kv");
  assert.equal(layer(DEPLOY, WITH_BROADCAST), "kv");
  assert.equal(layer(DEPLOY, WITHOUT_BROADCAST), "kv");
  assert.equal(loadConfig(DEPLOY).onDeploy, true);
  // This runtime (Deno 2.9) has BroadcastChannel.
  assert.equal(runtimeFeatures().broadcastChannel, true);
});

Deno.test("loadConfig: CHANNEL_LAYER=broadcast where BroadcastChannel is missing is refused by name", () => {
  refuses({ CHANNEL_LAYER: "broadcast" }, "CHANNEL_LAYER", WITHOUT_BROADCAST);
  refuses(
    { CHANNEL_LAYER: "broadcast", WORKERS: "2" },
    "CHANNEL_LAYER",
    WITHOUT_BROADCAST,
  );
  for (const layer of ["memory", "redis", "kv"]) {
    assert.equal(
      loadConfig({ CHANNEL_LAYER: layer }, WITHOUT_BROADCAST).channelLayer,
      layer,
    );
  }
});

Deno.test("loadConfig: on Deno Deploy only layers that reach other instances are accepted, and WORKERS does not apply", () => {
  for (const layer of ["memory", "broadcast"]) {
    refuses({ ...DEPLOY, CHANNEL_LAYER: layer }, "CHANNEL_LAYER");
  }
  for (const layer of ["kv", "redis"]) {
    assert.equal(
      loadConfig({ ...DEPLOY, CHANNEL_LAYER: layer }).channelLayer,
      layer,
    );
  }
  refuses({ ...DEPLOY, WORKERS: "2" }, "WORKERS");
  assert.equal(loadConfig({ ...DEPLOY, WORKERS: "1" }).workers, 1);
});

Deno.test("loadConfig: HISTORY_MIN_AGE_DAYS is 7 by default, 0 turns it off, and is range-checked by name", () => {
  assert.equal(loadConfig({}).historyMinAgeDays, 7);
  assert.equal(loadConfig({ HISTORY_MIN_AGE_DAYS: "0" }).historyMinAgeDays, 0);
  assert.equal(
    loadConfig({ HISTORY_MIN_AGE_DAYS: "30" }).historyMinAgeDays,
    30,
  );
  for (const value of ["-1", "1.5", "3651", "week"]) {
    refuses({ HISTORY_MIN_AGE_DAYS: value }, "HISTORY_MIN_AGE_DAYS");
  }
});

Deno.test("loadConfig: REUSE_PORT lets several processes share the port, only with a layer and a store that span them", () => {
  assert.equal(loadConfig({}).reusePort, false);
  assert.equal(loadConfig({ REUSE_PORT: "0" }).reusePort, false);
  const redis = { REUSE_PORT: "1", CHANNEL_LAYER: "redis" };
  assert.equal(loadConfig(redis).reusePort, true);
  assert.equal(loadConfig({ ...redis, WORKERS: "2" }).workers, 2);
  refuses({ REUSE_PORT: "maybe" }, "REUSE_PORT");
  // The default layer (memory) and broadcast stop at the process.
  refuses({ REUSE_PORT: "1" }, "CHANNEL_LAYER");
  refuses({ REUSE_PORT: "1", CHANNEL_LAYER: "memory" }, "CHANNEL_LAYER");
  refuses(
    { REUSE_PORT: "1", CHANNEL_LAYER: "broadcast", WORKERS: "2" },
    "CHANNEL_LAYER",
  );
  // kv spans processes only over KV Connect, not on one local file.
  refuses({ REUSE_PORT: "1", CHANNEL_LAYER: "kv" }, "CHANNEL_LAYER");
  refuses(
    { REUSE_PORT: "1", CHANNEL_LAYER: "kv", KV_PATH: "/tmp/shared.kv" },
    "CHANNEL_LAYER",
  );
  assert.equal(
    loadConfig({
      REUSE_PORT: "1",
      CHANNEL_LAYER: "kv",
      KV_PATH: "https://kv.example.com",
    }).channelLayer,
    "kv",
  );
  // Each process would have its own empty store.
  refuses({ ...redis, KV_PATH: ":memory:" }, "KV_PATH");
  refuses({ ...DEPLOY, ...redis }, "REUSE_PORT");
});

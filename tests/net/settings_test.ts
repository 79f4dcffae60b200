import assert from "node:assert/strict";
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_MAX_MESSAGE_BYTES,
  listenerSettings,
  ListenerSettingsError,
} from "../../lib/net/settings.ts";

Deno.test("listenerSettings: guarded by default, deno on Deploy; budget from the descriptor limit and the workers", () => {
  const one = listenerSettings({}, 20_000, 1, false);
  assert.equal(one.kind, "guarded");
  assert.equal(one.limits.maxDescriptors, 19_000);
  assert.equal(one.limits.maxConnections, 19_000);
  assert.equal(one.limits.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  assert.equal(one.limits.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS);
  assert.equal(
    listenerSettings({}, 20_000, 2, false).limits.maxDescriptors,
    9_500,
  );
  assert.equal(listenerSettings({}, null, 1, false).limits.maxDescriptors, 960);
  assert.equal(listenerSettings({}, 20_000, 1, true).kind, "deno");
});

Deno.test("listenerSettings: values from the environment, and a bad one names itself", () => {
  const s = listenerSettings(
    {
      LISTENER: "deno",
      MAX_CONNECTIONS: "40",
      WS_MAX_MESSAGE_BYTES: "1024",
      HTTP_HEADERS_TIMEOUT_MS: "100",
      HTTP_IDLE_TIMEOUT_MS: "200",
      HTTP_REQUEST_TIMEOUT_MS: "300",
    },
    20_000,
    1,
    false,
  );
  assert.equal(s.kind, "deno");
  assert.equal(s.limits.maxConnections, 40);
  assert.equal(s.limits.maxMessageBytes, 1024);
  assert.equal(s.limits.headersTimeoutMs, 100);
  assert.equal(s.limits.idleTimeoutMs, 200);
  assert.equal(s.limits.requestTimeoutMs, 300);
  for (
    const [name, value] of [
      ["LISTENER", "node"],
      ["MAX_CONNECTIONS", "0"],
      ["WS_MAX_MESSAGE_BYTES", "1.5"],
      ["HTTP_IDLE_TIMEOUT_MS", "soon"],
    ]
  ) {
    assert.throws(
      () => listenerSettings({ [name]: value }, 20_000, 1, false),
      (err: Error) =>
        err instanceof ListenerSettingsError && err.message.includes(name),
    );
  }
});

Deno.test("listenerSettings: MAX_CONNECTIONS_PER_IP caps one address (1,000 by default), 0 lifts it, a negative is refused", () => {
  const limits = (env: Record<string, string>) =>
    listenerSettings(env, 20_000, 1, false).limits;
  assert.equal(
    limits({}).maxConnectionsPerAddress,
    DEFAULT_MAX_CONNECTIONS_PER_IP,
  );
  assert.equal(
    limits({ MAX_CONNECTIONS_PER_IP: "50" }).maxConnectionsPerAddress,
    50,
  );
  assert.equal(
    limits({ MAX_CONNECTIONS_PER_IP: "0" }).maxConnectionsPerAddress,
    0,
  );
  assert.throws(
    () => limits({ MAX_CONNECTIONS_PER_IP: "-1" }),
    ListenerSettingsError,
  );
  // Never more than half of what the listener admits.
  assert.equal(
    limits({ MAX_CONNECTIONS: "200" }).maxConnectionsPerAddress,
    100,
  );
  assert.equal(
    listenerSettings({}, null, 1, false).limits.maxConnectionsPerAddress,
    480,
  );
});

/**
 * Which key signs sessions: the configured one, or in development the one
 * kept with the data — and the warning that says so, without the key.
 */
import assert from "node:assert/strict";
import {
  SESSION_SECRET_NAME,
  sessionSecret,
} from "../../lib/auth/session_secret.ts";
import { loadConfig } from "../../lib/config.ts";
import { createLogger } from "../../lib/log.ts";
import { createStore } from "../../lib/store/stores.ts";
import type { Stores } from "../../lib/store/types.ts";

const SECRET = "configured-secret-0123456789-abcdefgh";

/** Runs `fn` with the real logger's lines (JSON on stderr) captured. */
async function capturingLogs<T>(
  fn: (log: ReturnType<typeof createLogger>) => Promise<T>,
): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    return { result: await fn(createLogger("info")), lines };
  } finally {
    console.error = original;
  }
}

async function withStores(fn: (stores: Stores) => Promise<void>) {
  const stores = await createStore({
    store: "kv",
    kvPath: ":memory:",
    historyRetention: 100,
  });
  try {
    await fn(stores);
  } finally {
    await stores.close();
  }
}

Deno.test("sessionSecret: a configured SESSION_SECRET is used as is, and nothing is stored", async () => {
  await withStores(async (stores) => {
    const { result, lines } = await capturingLogs((log) =>
      sessionSecret(loadConfig({ SESSION_SECRET: SECRET }), stores.secrets, log)
    );
    assert.equal(result, SECRET);
    assert.deepEqual(lines, []);
    // Nothing was kept: the next candidate is the first.
    const kept = await stores.secrets.keep(SESSION_SECRET_NAME, "probe");
    assert.equal(kept.created, true);
  });
});

Deno.test("sessionSecret: unset, the first generated key is kept and every later start uses it; the warning never shows it", async () => {
  await withStores(async (stores) => {
    const first = loadConfig({});
    const second = loadConfig({});
    assert.notEqual(first.sessionSecret, second.sessionSecret);
    const a = await capturingLogs((log) =>
      sessionSecret(first, stores.secrets, log)
    );
    const b = await capturingLogs((log) =>
      sessionSecret(second, stores.secrets, log)
    );
    assert.equal(a.result, first.sessionSecret);
    assert.equal(b.result, first.sessionSecret);
    const logged = [...a.lines, ...b.lines].map((l) => JSON.parse(l));
    assert.deepEqual(
      logged.map((l) => [l.level, l.event]),
      [
        ["warn", "config.session_secret_generated"],
        ["warn", "config.session_secret_reused"],
      ],
    );
    for (const line of [...a.lines, ...b.lines]) {
      assert.ok(!line.includes(first.sessionSecret), line);
      assert.ok(!line.includes(second.sessionSecret), line);
    }
  });
});

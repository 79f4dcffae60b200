/**
 * `deno task dev` exactly as deno.json defines it: it serves on a free port,
 * restarts when a watched folder changes, and stops with its process group
 * (`deno task` and the watcher's process), leaving nothing behind.
 *
 * `deno task test` builds first, so the dev server finds `_build/` current
 * and does not rebuild it under the other tests.
 */
import assert from "node:assert/strict";
import { withTimeout } from "../../lib/async.ts";
import { listeningPorts } from "../../support/process.ts";
import { TEST_SECRET } from "../_helpers/server.ts";
import { eventually } from "../../support/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Longest wait for a (re)start: a stale build is rebuilt first (~2 s). */
const START_TIMEOUT_MS = 10_000;

/** Whether any process of group `pgid` is still alive (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    Deno.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function healthz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  await res.body?.cancel();
  return res.status;
}

Deno.test("deno task dev: serves, restarts when static/ changes, and stops with its process group", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev"],
    cwd: ROOT,
    env: {
      PORT: "0",
      HOSTNAME: "127.0.0.1",
      KV_PATH: ":memory:",
      SESSION_SECRET: TEST_SECRET,
      LOG_LEVEL: "error",
      NO_COLOR: "1",
    },
    // A process group of its own, so the watcher's process is stopped with it.
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const ports = listeningPorts(child.stdout);
  // Not a build input: a new file here restarts the server without a rebuild.
  const probe = `${ROOT}static/dev_test_${crypto.randomUUID()}.txt`;
  try {
    const first = await withTimeout(ports.next(), START_TIMEOUT_MS, "start");
    assert.ok(!first.done);
    assert.equal(await healthz(first.value), 200);

    await Deno.writeTextFile(probe, "restart\n");
    const second = await withTimeout(ports.next(), START_TIMEOUT_MS, "restart");
    assert.ok(!second.done);
    assert.equal(await healthz(second.value), 200);
  } catch (err) {
    Deno.kill(-child.pid, "SIGKILL");
    throw new Error(`${(err as Error).message}\n${await stderr}`);
  } finally {
    await Deno.remove(probe).catch(() => {});
    if (groupAlive(child.pid)) Deno.kill(-child.pid, "SIGTERM");
    for await (const _ of ports) { /* the rest of stdout */ }
    await child.status;
    await eventually(() => !groupAlive(child.pid), "the process group to end")
      .catch((err) => {
        Deno.kill(-child.pid, "SIGKILL");
        throw err;
      });
    await stderr;
  }
});

/**
 * What `deno task start` prints: one human line with the URL and the settings
 * that matter on stdout; logs on stderr, all JSON when they go to a pipe (or
 * with `LOG_FORMAT=json`), all human lines on a terminal (or with
 * `LOG_FORMAT=text`). The line itself is pure and tested directly; the task
 * is spawned as a person runs it.
 */
import assert from "node:assert/strict";
import { startupLine, type StartupSettings } from "../lib/startup.ts";
import { loadConfig } from "../lib/config.ts";
import { withTimeout } from "../lib/async.ts";
import { keptEnv, START_TIMEOUT_MS } from "./_helpers/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

const DEFAULTS: StartupSettings = loadConfig({});

Deno.test("startupLine: the URL first, then layer, store and sign-in methods", () => {
  assert.equal(
    startupLine("http://localhost:8000/", DEFAULTS),
    "Listening on http://localhost:8000/ · layer memory · store kv at ./data/roomcast.kv · sign-in: guests",
  );
  assert.equal(
    startupLine("http://127.0.0.1:9000/", {
      ...DEFAULTS,
      channelLayer: "redis",
      redisUrl: "redis://default:s3cret@cache.internal:6379",
      googleClientIds: ["id.apps.googleusercontent.com"],
      allowGuests: false,
      workers: 4,
    }),
    "Listening on http://127.0.0.1:9000/ · layer redis at redis://cache.internal:6379 · store kv at ./data/roomcast.kv · sign-in: Google · 4 workers",
  );
  assert.equal(
    startupLine("http://x:1/", DEFAULTS, { listener: "guarded" }),
    "Listening on http://x:1/ · listener guarded · layer memory · store kv at ./data/roomcast.kv · sign-in: guests",
  );
  assert.match(
    startupLine("http://x:1/", { ...DEFAULTS, kvPath: undefined }),
    /store kv \(the platform's\)/,
  );
  assert.match(
    startupLine("http://x:1/", {
      ...DEFAULTS,
      allowGuests: false,
      googleClientIds: [],
    }),
    /sign-in: none \(read only\)$/,
  );
});

/** The `Listening on` line's shape: scripts read the port from its start. */
const LINE =
  /^Listening on http:\/\/127\.0\.0\.1:\d+\/ · listener guarded · layer memory · store kv at \S+ · sign-in: guests$/;
/** What is not the app's: the task runner's and the build's own lines. */
const NOT_OURS = /^(Task start |built \/_build\/)/;
/** A human log line: time, level, event. */
const TEXT_LOG =
  /^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARN |ERROR) [a-z_.]+( |$)/;

interface StartOutput {
  stdout: string[];
  stderr: string[];
}

/**
 * Runs `deno task start` with `env` on a free port and a fresh KV file,
 * stops it with SIGTERM once it has printed its line, and returns every line
 * it wrote.
 */
async function runStart(env: Record<string, string>): Promise<StartOutput> {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "start"],
    cwd: ROOT,
    clearEnv: true,
    env: {
      ...keptEnv(),
      NO_COLOR: "1",
      PORT: "0",
      HOSTNAME: "127.0.0.1",
      KV_PATH: `${dir}/start.kv`,
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let out = "";
    await withTimeout(
      (async () => {
        while (!out.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`exited before listening: ${out}`);
          out += value;
        }
      })(),
      START_TIMEOUT_MS,
      "deno task start printed its line",
    );
    // One request answered: the process is past its start-up (main.ts then
    // has its signal handlers), so SIGTERM is a graceful stop.
    const url = out.match(/http:\/\/\S+?\//)![0];
    const health = await fetch(`${url}healthz`);
    await health.body?.cancel();
    assert.equal(health.status, 200);
    child.kill("SIGTERM");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    await child.status;
    const errors = lines(await stderr);
    assert.ok(
      errors.some((l) => l.includes("server.stopping")),
      "stopped gracefully on SIGTERM",
    );
    return { stdout: lines(out), stderr: errors };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await Deno.remove(dir, { recursive: true });
  }
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
}

function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === "object";
  } catch {
    return false;
  }
}

Deno.test("deno task start, output to a pipe: one human line on stdout; every log line on stderr is JSON", async () => {
  const { stdout, stderr } = await runStart({});
  assert.equal(stdout.length, 1, `stdout: ${stdout.join("\n")}`);
  assert.match(stdout[0], LINE);
  const logs = stderr.filter((l) => !NOT_OURS.test(l));
  assert.ok(logs.length > 0, "it logs");
  assert.deepEqual(logs.filter((l) => !isJson(l)), [], "nothing but JSON");
  const events = logs.map((l) => JSON.parse(l).event);
  assert.ok(events.includes("server.listening"), events.join());
});

Deno.test("deno task start with LOG_FORMAT=text: the same line, and every log line human", async () => {
  const { stdout, stderr } = await runStart({ LOG_FORMAT: "text" });
  assert.equal(stdout.length, 1, `stdout: ${stdout.join("\n")}`);
  assert.match(stdout[0], LINE);
  const logs = stderr.filter((l) => !NOT_OURS.test(l));
  assert.ok(logs.length > 0, "it logs (at least the stop)");
  assert.deepEqual(logs.filter((l) => !TEXT_LOG.test(l)), [], "human lines");
  // On a terminal the line says it; the listening event is not repeated.
  assert.ok(!logs.some((l) => l.includes("server.listening")));
});

const SCRIPT = "/usr/bin/script";
const hasScript = await Deno.stat(SCRIPT).then(() => true, () => false);

Deno.test({
  name:
    "deno task start in a terminal (a pty, through script(1)): human lines only, by default",
  ignore: !hasScript,
  async fn() {
    const dir = await Deno.makeTempDir();
    const child = new Deno.Command(SCRIPT, {
      args: ["-qec", `${Deno.execPath()} task start`, "/dev/null"],
      cwd: ROOT,
      clearEnv: true,
      env: {
        ...keptEnv(),
        NO_COLOR: "1",
        PORT: "0",
        HOSTNAME: "127.0.0.1",
        KV_PATH: `${dir}/pty.kv`,
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let out = "";
    try {
      await withTimeout(
        (async () => {
          while (!/Listening on [^\n]*\n/.test(out)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`exited before listening: ${out}`);
            out += value;
          }
        })(),
        START_TIMEOUT_MS,
        "deno task start printed its line in a pty",
      );
      // Past its start-up (see runStart) before the Ctrl-C.
      const url = out.match(/http:\/\/\S+?\//)![0];
      await (await fetch(`${url}healthz`)).body?.cancel();
    } finally {
      // Ctrl-C, as a person stops it.
      const writer = child.stdin.getWriter();
      await writer.write(new Uint8Array([3])).catch(() => {});
      await writer.close().catch(() => {});
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
    // The terminal echoes the Ctrl-C.
    const all = lines(out.replaceAll("\r", "").replaceAll("^C", ""));
    const ours = all.filter((l) => !NOT_OURS.test(l));
    assert.equal(ours.filter((l) => l.startsWith("Listening on ")).length, 1);
    assert.match(ours.find((l) => l.startsWith("Listening on "))!, LINE);
    assert.deepEqual(ours.filter(isJson), [], "no JSON on a terminal");
    assert.ok(ours.some((l) => l.includes("server.stopping")), "stopped");
    assert.deepEqual(
      ours.filter((l) => !l.startsWith("Listening on ") && !TEXT_LOG.test(l)),
      [],
      "every other line is a human log line",
    );
  },
});

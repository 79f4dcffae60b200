/**
 * Deno Deploy, proven locally. `deno.json`'s `deploy` section is run as
 * Deploy runs it: its install and build commands in a clean copy of the
 * project, then its entrypoint the way Deploy starts it — no V8 or other
 * custom flags, Deploy's predefined variables, no write access to the
 * project, `Deno.openKv()` with no path (Deploy's database; here the CLI's
 * default file for the project, which needs no write permission) — with the
 * kv layer by default, refusing to start without `SESSION_SECRET`, and
 * gone within 5 s of SIGINT. Then the part a single local process cannot
 * play with Deploy's variables set: instances sharing one database, as two
 * workers of one process (`WORKERS=2`, `CHANNEL_LAYER=kv`) on a KV file in
 * the only folder it may write, exchanging messages, presence and typing
 * both ways. (With `DENO_DEPLOYMENT_ID` set, `KV_PATH` is ignored and
 * `WORKERS` refused; and in the CLI a Worker's `Deno.openKv()` with no path
 * is a private in-memory database, so the two could not meet there.)
 */
import assert from "node:assert/strict";
import { channelInstance } from "../lib/chat/layer.ts";
import { emptyPresence, nextPresence } from "../lib/chat/presence.ts";
import type { ServerFrame } from "../lib/chat/protocol.ts";
import { guestCookie } from "../support/guest.ts";
import { DEPLOY_ENV } from "./_helpers/deploy.ts";
import {
  keptEnv,
  type ServerProcess,
  spawnServer,
} from "./_helpers/process.ts";
import { TEST_SECRET } from "./_helpers/server.ts";
import { TestClient } from "./_helpers/ws_client.ts";
import { eventually } from "../support/wait.ts";

const PROJECT_ROOT = new URL("../", import.meta.url).pathname;
/** Deploy sends SIGINT and kills the process 5 s later (docs: Runtime, Lifecycle). */
const STOP_LIMIT_MS = 5_000;
/** How long the second worker may take to serve after the first announced the port. */
const WORKER_START_MS = 10_000;

/** `deno.json`'s `deploy` section, as this test relies on it. */
interface DeployConfig {
  install: string;
  build: string;
  runtime: { mode: "dynamic"; entrypoint: string };
}

/** The files a push would carry: tracked and untracked-but-not-ignored (so no `node_modules/`, `_build/`, `data/`). */
async function projectFiles(): Promise<string[]> {
  const { code, stdout } = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
  }).output();
  assert.equal(code, 0, "git ls-files");
  return new TextDecoder().decode(stdout).split("\0").filter(Boolean);
}

/** Copies the project's files into a fresh folder: what Deploy's builder checks out. */
async function cleanCopy(): Promise<string> {
  const dir = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "roomcast-deploy-" }),
  );
  for (const file of await projectFiles()) {
    const to = `${dir}/${file}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    try {
      await Deno.copyFile(`${PROJECT_ROOT}${file}`, to);
    } catch (err) {
      // Deleted in the work tree but not yet in the index: not pushed either.
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return dir;
}

/** Runs one of the section's shell commands in `cwd` as Deploy's builder does (with `CI=1`). */
async function buildStep(command: string, cwd: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("sh", {
    args: ["-c", command],
    cwd,
    env: { CI: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(
    code,
    0,
    `\`${command}\` failed: ${new TextDecoder().decode(stderr).slice(-2_000)}`,
  );
}

/** Deno's cache folder (`DENO_DIR`), as `deno info` reports it. */
async function denoDir(): Promise<string> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  }).output();
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

/**
 * Where the CLI keeps `Deno.openKv()`'s database when no path is given:
 * `DENO_DIR/location_data/<SHA-256 of the config file's URL>/kv.sqlite3`
 * (checked on Deno 2.9; the test fails here if that changes).
 */
async function defaultKvFolder(project: string): Promise<string> {
  const url = new URL(`file://${project}/deno.json`).href;
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(url),
  );
  const hex = [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${await denoDir()}/location_data/${hex}`;
}

/** The JSON log lines in `stderr` with `event`. */
function logged(stderr: string, event: string): Record<string, unknown>[] {
  return stderr.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    const entry = JSON.parse(line) as Record<string, unknown>;
    return entry.event === event ? [entry] : [];
  });
}

/** Sends SIGINT; asserts every client got 1012 and the process exited cleanly within Deploy's 5 s. */
async function stopsOnSigint(
  server: ServerProcess,
  clients: readonly TestClient[],
): Promise<void> {
  const started = performance.now();
  const exited = server.kill("SIGINT");
  const codes = await Promise.all(
    clients.map((c) => c.closed.then((e) => e.code)),
  );
  const status = await exited;
  const elapsed = performance.now() - started;
  assert.deepEqual(new Set(codes), new Set([1012]), "told to reconnect");
  assert.equal(status.code, 0);
  assert.ok(
    elapsed < STOP_LIMIT_MS,
    `exited ${Math.round(elapsed)} ms after SIGINT`,
  );
}

Deno.test("deno.json's deploy section: install and build in a clean copy; the entrypoint runs as on Deno Deploy", async (t) => {
  const deploy = JSON.parse(
    await Deno.readTextFile(`${PROJECT_ROOT}deno.json`),
  ).deploy as DeployConfig;
  assert.equal(deploy.runtime.mode, "dynamic");
  const copy = await cleanCopy();
  const kvFolder = await defaultKvFolder(copy);
  const entrypoint = `${copy}/${deploy.runtime.entrypoint}`;
  // Deploy runs with every permission and no custom flags; here the project may not be written either.
  const flags = ["--no-prompt", "-A", "--deny-write"];
  try {
    await t.step("install, then build: exactly its commands", async () => {
      const started = performance.now();
      await buildStep(deploy.install, copy);
      await buildStep(deploy.build, copy);
      console.log(
        `install and build in a clean copy: ${
          Math.round(performance.now() - started)
        } ms`,
      );
    });

    await t.step(
      "without SESSION_SECRET it does not start, and says why",
      async () => {
        const { code, stderr } = await new Deno.Command(Deno.execPath(), {
          args: ["run", ...flags, entrypoint],
          clearEnv: true,
          env: { ...keptEnv(), ...DEPLOY_ENV, NO_COLOR: "1" },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(code, 1);
        assert.match(
          new TextDecoder().decode(stderr),
          /Invalid SESSION_SECRET/,
        );
      },
    );

    await t.step(
      "read-only, Deploy's variables, no flags: kv layer, default KV, GET /, a message, SIGINT within 5 s",
      async () => {
        const server = await spawnServer({
          ...DEPLOY_ENV,
          SESSION_SECRET: TEST_SECRET,
          LOG_LEVEL: "info",
          // Ignored on Deploy; were it used, the start would fail to write it.
          KV_PATH: `${copy}/data/roomcast.kv`,
        }, { main: entrypoint, flags, clearEnv: true, captureStderr: true });
        const clients: TestClient[] = [];
        try {
          await eventually(
            () => logged(server.stderr(), "server.listening").length > 0,
            "the listening log line",
          );
          assert.deepEqual(
            logged(server.stderr(), "server.listening").map((e) => e.layer),
            ["kv"],
          );
          // Deploy's warm-up request.
          const home = await fetch(`${server.origin}/`);
          assert.equal(home.status, 200);
          await home.body?.cancel();

          for (const name of ["Ana", "Ben"]) {
            const client = await TestClient.connect(
              `ws://127.0.0.1:${server.port}/ws/chat/deploy`,
              {
                cookie: await guestCookie(server.origin, name),
                origin: server.origin,
              },
            );
            clients.push(client);
            await client.nextOf("welcome");
          }
          const [ana, ben] = clients;
          ana.send({ type: "message", text: "hello deploy", clientId: "d-1" });
          const got = await ben.next((f) =>
            f.type === "message" && f.message.clientId === "d-1"
          );
          assert.equal(got.type === "message" && got.message.seq, 1);
          await stopsOnSigint(server, clients);
        } finally {
          await server.kill("SIGKILL");
        }
        await Deno.stat(`${kvFolder}/kv.sqlite3`).then(
          () => {},
          () => assert.fail(`no default KV database in ${kvFolder}`),
        );
        await assert.rejects(Deno.stat(`${copy}/data`), Deno.errors.NotFound);
      },
    );
  } finally {
    await Deno.remove(kvFolder, { recursive: true }).catch(() => {});
    await Deno.remove(copy, { recursive: true });
  }
});

type PresenceFrame = Extract<ServerFrame, { type: "presence" }>;

/** A client in the room and the worker (instance id) its socket landed on. */
interface Placed {
  client: TestClient;
  id: string;
  instance: string;
}

/**
 * Signs in `name` and opens sockets to `room` until one lands on a worker
 * that `wanted` accepts (a new guest per try, so the presence state names
 * only that socket); the others are closed.
 */
async function connectWhere(
  server: ServerProcess,
  room: string,
  name: string,
  wanted: (instance: string) => boolean,
): Promise<Placed> {
  const deadline = Date.now() + WORKER_START_MS;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const client = await TestClient.connect(
      `ws://127.0.0.1:${server.port}/ws/chat/${room}`,
      {
        cookie: await guestCookie(
          server.origin,
          attempt ? `${name} ${attempt}` : name,
        ),
        origin: server.origin,
      },
    );
    const { you } = await client.nextOf("welcome");
    const state = await client.next<PresenceFrame>((f) =>
      f.type === "presence" && f.state !== undefined
    );
    // The state frame may carry this socket in its `joins`.
    const [meta] = nextPresence(emptyPresence(), state)[you.id].metas;
    const instance = channelInstance(meta.conn);
    assert.ok(instance, "a connection name carries its instance");
    if (wanted(instance)) return { client, id: you.id, instance };
    await client.close();
  }
  throw new Error(`no socket of ${name} landed where wanted`);
}

Deno.test("WORKERS=2 on the kv layer, writing only its KV folder, no flags: messages, presence and typing cross both ways; SIGINT within 5 s", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const server = await spawnServer({
    WORKERS: "2",
    CHANNEL_LAYER: "kv",
    KV_PATH: `${dir}/shared.kv`,
  }, {
    flags: [
      "--no-prompt",
      "--allow-read",
      "--allow-net",
      "--allow-env",
      `--allow-write=${dir}`,
      `--deny-write=${PROJECT_ROOT}`,
    ],
    clearEnv: true,
  });
  const clients: TestClient[] = [];
  const room = "two-workers";
  try {
    const ana = await connectWhere(server, room, "Ana", () => true);
    clients.push(ana.client);
    const ben = await connectWhere(
      server,
      room,
      "Ben",
      (instance) => instance !== ana.instance,
    );
    clients.push(ben.client);
    const joined = (id: string) => (f: ServerFrame) =>
      f.type === "presence" && f.joins !== undefined && id in f.joins;
    const left = (id: string) => (f: ServerFrame) =>
      f.type === "presence" && f.leaves !== undefined && id in f.leaves;
    // Presence: Ben's worker → Ana's, then (Cy beside Ana) Ana's → Ben's.
    await ana.client.next(joined(ben.id));
    const cy = await connectWhere(
      server,
      room,
      "Cy",
      (instance) => instance === ana.instance,
    );
    clients.push(cy.client);
    await ben.client.next(joined(cy.id));

    const message = (clientId: string) => (f: ServerFrame) =>
      f.type === "message" && f.message.clientId === clientId;
    ana.client.send({ type: "message", text: "from one", clientId: "w-1" });
    await ben.client.next(message("w-1"));
    ben.client.send({ type: "message", text: "from two", clientId: "w-2" });
    const atAna = await ana.client.next(message("w-2"));
    // One KV file, one sequence for the room.
    assert.equal(atAna.type === "message" && atAna.message.seq, 2);

    const typing = (id: string) => (f: ServerFrame) =>
      f.type === "typing" && f.userId === id;
    ana.client.send({ type: "typing" });
    await ben.client.next(typing(ana.id));
    ben.client.send({ type: "typing" });
    await ana.client.next(typing(ben.id));

    await cy.client.close();
    clients.splice(clients.indexOf(cy.client), 1);
    await ben.client.next(left(cy.id));

    await stopsOnSigint(server, clients);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The real entry point as a process: several workers on one port, a graceful
 * stop that tells clients to reconnect (1012) and exits in time, and the
 * development session key kept with the data across restarts and workers.
 */
import assert from "node:assert/strict";
import { guestCookie } from "../support/guest.ts";
import { type ServerProcess, spawnServer } from "./_helpers/process.ts";
import { TestClient } from "./_helpers/ws_client.ts";
import { channelInstance } from "../lib/chat/layer.ts";
import type { ServerFrame } from "../lib/chat/protocol.ts";

type PresenceFrame = Extract<ServerFrame, { type: "presence" }>;
/** What a platform gives a stopping process (Deno Deploy: 5 s); lib/instance.ts's grace period sits inside it. */
const STOP_LIMIT_MS = 5_000;

Deno.test("WORKERS=2: every client on the shared port gets every message; SIGTERM closes with 1012 and exits in time", async () => {
  const dir = await Deno.makeTempDir();
  const server = await spawnServer({ WORKERS: "2", KV_PATH: `${dir}/w.kv` });
  try {
    const clients: TestClient[] = [];
    for (let i = 0; i < 6; i++) {
      const cookie = await guestCookie(server.origin, `User ${i}`);
      const client = await TestClient.connect(
        `ws://127.0.0.1:${server.port}/ws/chat/many`,
        {
          cookie,
          origin: server.origin,
        },
      );
      await client.nextOf("welcome");
      clients.push(client);
    }
    clients.forEach((c, i) =>
      c.send({ type: "message", text: `from ${i}`, clientId: `w-${i}` })
    );
    for (const client of clients) {
      const texts = new Set<string>();
      while (texts.size < clients.length) {
        texts.add((await client.nextOf("message")).message.text);
      }
      assert.equal(texts.size, 6);
    }
    const started = Date.now();
    const exited = server.kill("SIGTERM");
    const codes = await Promise.all(
      clients.map((c) => c.closed.then((e) => e.code)),
    );
    assert.deepEqual(new Set(codes), new Set([1012]));
    const status = await exited;
    assert.equal(status.code, 0);
    assert.ok(
      Date.now() - started < STOP_LIMIT_MS,
      `stopped within ${STOP_LIMIT_MS} ms`,
    );
  } finally {
    await server.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an invalid setting stops the start with a message naming it", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: { PORT: "not-a-port", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 1);
  assert.match(new TextDecoder().decode(stderr), /Invalid PORT/);
});

/** Whom `GET /` greets with `cookie` (null: the sign-in form), through `client`. */
async function signedInAs(
  origin: string,
  cookie: string,
  client?: Deno.HttpClient,
): Promise<string | null> {
  const res = await fetch(`${origin}/`, { headers: { cookie }, client });
  assert.equal(res.status, 200);
  const html = await res.text();
  return html.match(/Signed in as <strong>([^<]*)<\/strong>/)?.[1] ?? null;
}

Deno.test("without SESSION_SECRET the generated key is kept with the data: a session outlives a restart, not a fresh data folder", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  const env = (folder: string) => ({
    SESSION_SECRET: "",
    KV_PATH: `${folder}/data/roomcast.kv`,
  });
  const first = await spawnServer(env(dir));
  let second: ServerProcess | null = null;
  let fresh: ServerProcess | null = null;
  try {
    const cookie = await guestCookie(first.origin, "Restart Ana");
    assert.equal(await signedInAs(first.origin, cookie), "Restart Ana");
    assert.equal((await first.kill("SIGINT")).code, 0);

    [second, fresh] = await Promise.all([
      spawnServer(env(dir)),
      spawnServer(env(other)),
    ]);
    assert.equal(await signedInAs(second.origin, cookie), "Restart Ana");
    const socket = await TestClient.connect(
      `ws://127.0.0.1:${second.port}/ws/chat/restart`,
      { cookie, origin: second.origin },
    );
    assert.equal((await socket.nextOf("welcome")).you.name, "Restart Ana");
    await socket.close();
    // Another data folder has a key of its own.
    assert.equal(await signedInAs(fresh.origin, cookie), null);
  } finally {
    await first.kill("SIGKILL");
    await second?.kill("SIGKILL");
    await fresh?.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

/** Fresh guest sessions in the WORKERS test. */
const SESSIONS = 200;
/** Requests per session, each on a new connection (so on either worker). */
const REQUESTS_PER_SESSION = 3;
/** Sessions in flight at once. */
const CONCURRENCY = 20;
/** How long the second worker may take to start listening after the first announced the port. */
const WORKER_START_MS = 10_000;

/** Which instance (worker) a new socket with `cookie` lands on: its connection name says. */
async function instanceOf(
  server: ServerProcess,
  cookie: string,
  room: string,
): Promise<string | null> {
  const socket = await TestClient.connect(
    `ws://127.0.0.1:${server.port}/ws/chat/${room}`,
    { cookie, origin: server.origin },
  );
  try {
    const presence = await socket.next<PresenceFrame>((f) =>
      f.type === "presence" && f.state !== undefined
    );
    const [entry] = Object.values(presence.state ?? {});
    return channelInstance(entry.metas[0].conn);
  } finally {
    await socket.close();
  }
}

Deno.test("WORKERS=2 without SESSION_SECRET: both workers sign with one key, so every session works on either", async () => {
  const dir = await Deno.makeTempDir();
  const server = await spawnServer({
    WORKERS: "2",
    SESSION_SECRET: "",
    KV_PATH: `${dir}/roomcast.kv`,
  });
  // No idle connections kept: every request is a new connection, and the kernel picks its worker.
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    // The port is announced by the first worker; new sockets show when the second serves too.
    const probe = await guestCookie(server.origin, "Probe", { client });
    const instances = new Set<string | null>();
    const deadline = Date.now() + WORKER_START_MS;
    for (let i = 0; instances.size < 2 && Date.now() < deadline; i++) {
      instances.add(await instanceOf(server, probe, `probe-${i}`));
    }
    assert.equal(instances.size, 2, "both workers answer");
    assert.ok(!instances.has(null));

    for (let start = 0; start < SESSIONS; start += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, k) => {
          const name = `Guest ${start + k}`;
          const cookie = await guestCookie(server.origin, name, { client });
          for (let r = 0; r < REQUESTS_PER_SESSION; r++) {
            assert.equal(
              await signedInAs(server.origin, cookie, client),
              name,
              `${name}, request ${r + 1}`,
            );
          }
        }),
      );
    }
  } finally {
    client.close();
    await server.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The real entry point as a process: several workers on one port, and a
 * graceful stop that tells clients to reconnect (1012) and exits in time.
 */
import assert from "node:assert/strict";
import { guestCookie } from "../support/guest.ts";
import { spawnServer } from "./_helpers/process.ts";
import { TestClient } from "./_helpers/ws_client.ts";
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

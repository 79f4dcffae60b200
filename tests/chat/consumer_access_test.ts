/**
 * Sockets already open follow the room's access: a room made private closes
 * the sockets of people who are not its members, and taking a membership
 * away closes that person's — on another instance too (two servers on one
 * KV file and one group layer). Members stay.
 */
import assert from "node:assert/strict";
import { MemoryLayer } from "../../lib/chat/layer.ts";
import { CloseCode } from "../../lib/shared.ts";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { call, googleUser, join } from "../_helpers/people.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { Signal } from "../../support/wait.ts";

/** The code `client`'s socket closes with; fails (rather than hangs) if it stays open. */
async function closeCode(client: TestClient): Promise<number> {
  let code: number | null = null;
  const signal = new Signal();
  client.closed.then((event) => {
    code = event.code;
    signal.notify();
  });
  await signal.until(() => code !== null, "the socket to be closed");
  return code!;
}

async function twoInstances(
  fn: (a: TestServer, b: TestServer) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "roomcast-access-" });
  const layer = new MemoryLayer();
  const env = { KV_PATH: `${dir}/data.kv` };
  const a = await startServer(env, { layer });
  const b = await startServer(env, { layer });
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
    await layer.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a room made private closes non-members' sockets on every instance; members stay", async () => {
  await twoInstances(async (a, b) => {
    const ana = await googleUser("ana", "Ana");
    const ben = await googleUser("ben", "Ben");
    const cal = await googleUser("cal", "Cal");
    // Ana enters first: she owns the new room.
    const anaSocket = await join(a.origin, "team", ana);
    const setRole = await call(a.origin, "PUT", "/api/rooms/team/roles", ana, {
      user: { id: ben.user.id, name: "Ben" },
      role: "member",
    });
    assert.equal(setRole.status, 200, JSON.stringify(setRole.body));
    const benSocket = await join(b.origin, "team", ben);
    const calSocket = await join(b.origin, "team", cal);

    const made = await call(a.origin, "PUT", "/api/rooms/team/settings", ana, {
      visibility: "private",
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    assert.equal(await closeCode(calSocket), CloseCode.noAccess);
    // Ben (a member, on the other instance) and Ana still get the room's messages.
    anaSocket.send({
      type: "message",
      text: "members only now",
      clientId: crypto.randomUUID(),
    });
    await benSocket.next((f) =>
      f.type === "message" && f.message.text === "members only now"
    );
    assert.equal(
      calSocket.frames.some((f) =>
        f.type === "message" && f.message.text === "members only now"
      ),
      false,
    );

    // Ben's membership taken away: his socket closes too.
    const removed = await call(a.origin, "PUT", "/api/rooms/team/roles", ana, {
      user: { id: ben.user.id, name: "Ben" },
      role: "none",
    });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal(await closeCode(benSocket), CloseCode.noAccess);
    anaSocket.socket.close();
    await anaSocket.closed;
  });
});

Deno.test("a room made private between a non-member's upgrade and their join gets them no welcome: closed 4005 before it", async () => {
  const server = await startServer();
  try {
    const ana = await googleUser("ana", "Ana");
    const cal = await googleUser("cal", "Cal");
    const anaSocket = await join(server.origin, "narrow", ana);
    anaSocket.send({ type: "message", text: "before", clientId: "a1" });
    await anaSocket.nextOf("message");
    // Cal's upgrade passes (the room is public); before his socket joins the
    // room's group (so no notice of the change reaches it), Ana makes the
    // room private.
    const layer = server.services.layer;
    const groupAdd = layer.groupAdd.bind(layer);
    layer.groupAdd = async (...args: Parameters<typeof layer.groupAdd>) => {
      layer.groupAdd = groupAdd;
      const made = await call(
        server.origin,
        "PUT",
        "/api/rooms/narrow/settings",
        ana,
        { visibility: "private" },
      );
      assert.equal(made.status, 200);
      return await groupAdd(...args);
    };
    const calSocket = await TestClient.connect(
      `${server.origin.replace("http", "ws")}/ws/chat/narrow`,
      { cookie: cal.cookie, origin: server.origin },
    );
    assert.equal(await closeCode(calSocket), CloseCode.noAccess);
    assert.ok(
      !calSocket.frames.some((f) => f.type === "welcome"),
      "a welcome (with the room's page) reached a non-member",
    );
    await anaSocket.close();
  } finally {
    await server.close();
  }
});

/**
 * The chat sockets' lane (`lib/web/socket_lane.ts`) answers every upgrade
 * it takes as the router answers it: the same status, the same error body,
 * a request id; and it leaves the router what it does not take.
 */
import assert from "node:assert/strict";
import type { UpgradeLane } from "../../lib/net/front.ts";
import { ROUTE_ERRORS } from "../../lib/web/errors.ts";
import { chatSocketLane } from "../../lib/web/socket_lane.ts";
import { call, googleUser, join } from "../_helpers/people.ts";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { openRawSocket } from "../_helpers/ws_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a handshake was answered with: the status, the fields the test compares, the body. */
interface Answer {
  status: number;
  contentType: string | null;
  requestId: boolean;
  /** Whether it carries the pages' security headers (a CSP). */
  secured: boolean;
  body: string;
}

/** Sends a handshake for `target` with `fields` (the version is added) and reads the answer. */
async function handshake(
  server: TestServer,
  target: string,
  fields: string[],
  method = "GET",
): Promise<Answer> {
  const port = new URL(server.origin).port;
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(port),
  });
  try {
    const head = [
      `${method} ${target} HTTP/1.1`,
      ...fields,
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n");
    await conn.write(encoder.encode(head));
    let text = "";
    const chunk = new Uint8Array(4096);
    // Bounded: an answer is a few hundred bytes.
    for (let reads = 0; reads < 64; reads++) {
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const lines = text.slice(0, end).split("\r\n");
        const field = (name: string) =>
          lines.find((l) => l.toLowerCase().startsWith(`${name}:`))
            ?.slice(name.length + 1).trim() ?? null;
        const status = Number(lines[0].split(" ")[1]);
        const length = Number(field("content-length") ?? 0);
        const body = text.slice(end + 4);
        if (status === 101 || encoder.encode(body).length >= length) {
          return {
            status,
            contentType: field("content-type"),
            requestId: /^[0-9a-f-]{36}$/.test(field("x-request-id") ?? ""),
            secured: field("content-security-policy") !== null,
            body: status === 101 ? "" : body,
          };
        }
      }
      const n = await conn.read(chunk);
      if (n === null) break;
      text += decoder.decode(chunk.subarray(0, n));
    }
    throw new Error(`no whole answer: ${JSON.stringify(text)}`);
  } finally {
    conn.close();
  }
}

/** The lane, counting the upgrades it takes. */
function counted(taken: { count: number }) {
  return (services: Parameters<typeof chatSocketLane>[0]): UpgradeLane => {
    const lane = chatSocketLane(services);
    return (request) => {
      const answer = lane(request);
      if (answer) taken.count++;
      return answer;
    };
  };
}

Deno.test("the lane answers each upgrade it takes as the router does: status, error body, request id", async () => {
  const taken = { count: 0 };
  const env = { ALLOWED_HOSTS: "127.0.0.1", MAX_SOCKETS_PER_USER: "2" };
  const withLane = await startServer(env, {}, { upgradeLane: counted(taken) });
  const routed = await startServer(env, {}, { upgradeLane: () => undefined });
  try {
    const ana = await googleUser("ana", "Ana");
    const ben = await googleUser("ben", "Ben");
    const gus = await googleUser("gus", "Gus");
    const signedOut = await googleUser("sam", "Sam");
    for (const server of [withLane, routed]) {
      // A private room Ana owns, and Gus at his socket cap.
      const owner = await join(server.origin, "team", ana);
      const made = await call(
        server.origin,
        "PUT",
        "/api/rooms/team/settings",
        ana,
        { visibility: "private" },
      );
      assert.equal(made.status, 200, JSON.stringify(made.body));
      owner.close();
      await join(server.origin, "hall", gus);
      await join(server.origin, "hall", gus);
      const out = await call(
        server.origin,
        "POST",
        "/api/session/signout",
        signedOut,
        {},
      );
      assert.equal(out.status, 200);
    }
    const cases: [string, string, (s: TestServer) => string[], number][] = [
      ["a good upgrade", "/ws/chat/general", (s) => fields(s, ben), 101],
      ["?after= a seq", "/ws/chat/general?after=3", (s) => fields(s, ben), 101],
      ["a Bearer token", "/ws/chat/general", (s) => [
        ...fields(s, null),
        `Authorization: Bearer ${ben.cookie.split("=")[1]}`,
      ], 101],
      ["a long room", `/ws/chat/${"x".repeat(65)}`, (s) => fields(s, ben), 400],
      ["?after= empty", "/ws/chat/general?after=", (s) => fields(s, ben), 400],
      [
        "?after= too big",
        "/ws/chat/general?after=99999999999999999999",
        (s) => fields(s, ben),
        400,
      ],
      ["no session", "/ws/chat/general", (s) => fields(s, null), 401],
      ["a forged session", "/ws/chat/general", (s) => [
        ...fields(s, null),
        "Cookie: roomcast_session=forged.token.here",
      ], 401],
      [
        "a signed-out session",
        "/ws/chat/general",
        (s) => fields(s, signedOut),
        401,
      ],
      ["a foreign Origin", "/ws/chat/general", (s) => [
        ...fields(s, ben, null),
        "Origin: https://evil.example",
      ], 403],
      ["no Origin", "/ws/chat/general", (s) => fields(s, ben, null), 403],
      ["a host not allowed", "/ws/chat/general", (s) => [
        "Host: evil.example",
        ...fields(s, ben).slice(1),
      ], 400],
      ["a private room", "/ws/chat/team", (s) => fields(s, ben), 404],
      ["past the socket cap", "/ws/chat/hall", (s) => fields(s, gus), 429],
      [
        "no key",
        "/ws/chat/general",
        (s) => fields(s, ben).filter((f) => !f.startsWith("Sec-WebSocket-Key")),
        400,
      ],
    ];
    for (const [name, target, make, status] of cases) {
      const before = taken.count;
      const viaLane = await handshake(withLane, target, make(withLane));
      const viaRouter = await handshake(routed, target, make(routed));
      assert.equal(taken.count, before + 1, `${name}: taken by the lane`);
      assert.equal(viaLane.status, status, `${name}: ${viaLane.body}`);
      // Every answer names its request, but a host refused before any.
      assert.equal(viaLane.requestId, name !== "a host not allowed", name);
      assert.deepEqual(
        { ...viaLane, body: parsed(viaLane.body) },
        { ...viaRouter, body: parsed(viaRouter.body) },
        name,
      );
      if (status !== 101) {
        const { error } = JSON.parse(viaLane.body);
        assert.equal(
          ROUTE_ERRORS[error as keyof typeof ROUTE_ERRORS].status,
          status,
          name,
        );
      }
    }
  } finally {
    await withLane.close();
    await routed.close();
  }
});

Deno.test("what the lane does not take, the router answers: an encoded room, another query, another method", async () => {
  const taken = { count: 0 };
  const server = await startServer({}, {}, { upgradeLane: counted(taken) });
  try {
    const ben = await googleUser("ben", "Ben");
    for (
      const [target, status] of [
        ["/ws/chat/%67eneral", 101], // "general", decoded by the router
        ["/ws/chat/general?after=2&x=1", 101],
        ["/ws/chat/general?after=%33", 101],
        ["/ws/chat/general/", 404],
        ["/ws/chat/Bad!", 400],
        ["/ws/chat/.", 404],
        ["/ws/chat/..", 404],
        ["/api/rooms", 200],
      ] as const
    ) {
      const answer = await handshake(server, target, fields(server, ben));
      assert.equal(answer.status, status, `${target}: ${answer.body}`);
    }
    // Another Upgrade list: the router's 426, with its security headers.
    const h2c = await handshake(
      server,
      "/ws/chat/general",
      fields(server, ben).map((f) =>
        f.startsWith("Upgrade:") ? "Upgrade: h2c, websocket" : f
      ),
    );
    assert.equal(h2c.status, 426, h2c.body);
    assert.ok(h2c.secured);
    // A Host whose port no URL takes: the router's 400, not a 500.
    const port = await handshake(server, "/ws/chat/general", [
      "Host: localhost:99999",
      ...fields(server, ben).slice(1),
    ]);
    assert.equal(port.status, 400, port.body);
    const posted = await handshake(
      server,
      "/ws/chat/general",
      fields(server, ben),
      "POST",
    );
    assert.equal(posted.status, 404, posted.body);
    assert.equal(taken.count, 0);
    await handshake(server, "/ws/chat/general", fields(server, ben));
    assert.equal(taken.count, 1, "a plain GET is the lane's");
  } finally {
    await server.close();
  }
});

/** A handshake's fields for `person` (none: no cookie) with the server's own Origin unless `origin` says otherwise. */
function fields(
  server: TestServer,
  person: { cookie: string } | null,
  origin: string | null = server.origin,
): string[] {
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  return [
    `Host: ${new URL(server.origin).host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    ...(person ? [`Cookie: ${person.cookie}`] : []),
    ...(origin ? [`Origin: ${origin}`] : []),
  ];
}

function parsed(body: string): unknown {
  return body === "" ? null : JSON.parse(body);
}

Deno.test("behind a trusted proxy the lane holds each forwarded client (an IPv6 one by its /64) to its own socket cap", async () => {
  const taken = { count: 0 };
  const server = await startServer(
    { TRUST_PROXY: "127.0.0.0/8", MAX_SOCKETS_PER_IP: "1" },
    {},
    { upgradeLane: counted(taken) },
  );
  const open: Deno.TcpConn[] = [];
  try {
    const ben = await googleUser("ben", "Ben");
    const from = async (address: string) => {
      const socket = await openRawSocket(server.wsUrl("general"), {
        cookie: ben.cookie,
        origin: server.origin,
        "X-Forwarded-For": address,
      });
      open.push(socket.conn);
      return socket.status;
    };
    assert.equal(await from("203.0.113.7"), 101);
    assert.equal(await from("203.0.113.7"), 429);
    assert.equal(await from("203.0.113.8"), 101);
    // An IPv6 client is held to its /64's cap, whichever address in it.
    assert.equal(await from("2001:db8:5:6::1"), 101);
    assert.equal(await from("2001:db8:5:6:ffff::2"), 429);
    assert.equal(await from("2001:db8:5:7::1"), 101);
    assert.equal(taken.count, 6);
  } finally {
    for (const conn of open) conn.close();
    await server.close();
  }
});

Deno.test("a failure while opening gets the router's answer from the lane too: a 500 with its request id", async () => {
  const taken = { count: 0 };
  const withLane = await startServer({}, {}, { upgradeLane: counted(taken) });
  const routed = await startServer({}, {}, { upgradeLane: () => undefined });
  try {
    const ben = await googleUser("ben", "Ben");
    for (const server of [withLane, routed]) {
      server.services.rooms.get = () => Promise.reject(new Error("store down"));
    }
    const viaLane = await handshake(
      withLane,
      "/ws/chat/down",
      fields(withLane, ben),
    );
    const viaRouter = await handshake(
      routed,
      "/ws/chat/down",
      fields(routed, ben),
    );
    assert.equal(taken.count, 1);
    assert.equal(viaLane.status, 500, viaLane.body);
    assert.deepEqual(
      { ...viaLane, body: parsed(viaLane.body) },
      { ...viaRouter, body: parsed(viaRouter.body) },
    );
    assert.ok(viaLane.requestId);
  } finally {
    await withLane.close();
    await routed.close();
  }
});

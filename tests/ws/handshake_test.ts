import assert from "node:assert/strict";
import {
  acceptKey,
  hasToken,
  switchingProtocolsHead,
  upgradeProblem,
} from "../../lib/ws/handshake.ts";

const valid = () =>
  new Headers({
    upgrade: "websocket",
    connection: "keep-alive, Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  });

Deno.test("acceptKey: the example of RFC 6455 §1.3", () => {
  assert.equal(
    acceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
});

Deno.test("upgradeProblem: a valid upgrade has none; each missing piece is named", () => {
  assert.equal(upgradeProblem(valid(), "GET"), null);
  assert.match(upgradeProblem(valid(), "POST") ?? "", /GET/);
  const cases: [string, string | null, RegExp][] = [
    ["upgrade", "h2c", /Upgrade/],
    ["connection", "keep-alive", /Connection/],
    ["sec-websocket-version", "8", /Version/],
    ["sec-websocket-key", "short", /Key/],
    ["sec-websocket-key", null, /Key/],
  ];
  for (const [name, value, problem] of cases) {
    const headers = valid();
    if (value === null) headers.delete(name);
    else headers.set(name, value);
    assert.match(upgradeProblem(headers, "GET") ?? "", problem, name);
  }
  assert.ok(hasToken("Keep-Alive, UPGRADE", "upgrade"));
  assert.ok(!hasToken("upgraded", "upgrade"));
});

Deno.test("switchingProtocolsHead: the app's headers ride along, except those about a body", () => {
  const extra = new Headers({
    "x-request-id": "r1",
    "content-type": "text/plain",
    "content-length": "0",
  });
  extra.append("set-cookie", "a=1");
  extra.append("set-cookie", "b=2");
  const head = switchingProtocolsHead("KEY=", extra);
  assert.ok(head.startsWith("HTTP/1.1 101 Switching Protocols\r\n"));
  assert.ok(head.endsWith("\r\n\r\n"));
  assert.ok(head.includes("Sec-WebSocket-Accept: KEY=\r\n"));
  assert.ok(head.includes("x-request-id: r1\r\n"));
  assert.ok(head.includes("set-cookie: a=1\r\nset-cookie: b=2\r\n"));
  assert.ok(!/content-(type|length)/.test(head));
  assert.equal(head.match(/set-cookie/g)?.length, 2);
});

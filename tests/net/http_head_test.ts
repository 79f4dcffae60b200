import assert from "node:assert/strict";
import {
  headEnd,
  headerField,
  type RequestHead,
  scanRequestHead,
  upgradeUrl,
} from "../../lib/net/http_head.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("scanRequestHead: a whole head is parsed; what follows is not part of it", () => {
  const raw = "GET /ws/chat/general?x=1 HTTP/1.1\r\nHost: a:8000\r\n" +
    "Upgrade: websocket\r\nCookie: a=1\r\nCookie: b=2\r\n\r\nEXTRA";
  const scan = scanRequestHead(bytes(raw), 1024);
  assert.equal(scan.kind, "complete");
  if (scan.kind !== "complete") return;
  assert.equal(scan.head.method, "GET");
  assert.equal(scan.head.target, "/ws/chat/general?x=1");
  assert.equal(headerField(scan.head, "upgrade"), "websocket");
  assert.equal(headerField(scan.head, "cookie"), "a=1, b=2");
  assert.equal(headerField(scan.head, "x-absent"), null);
  assert.equal(scan.head.length, raw.length - "EXTRA".length);
});

Deno.test("scanRequestHead: the fields also come as pairs in order, duplicates kept, values trimmed; a Request made from them has the same headers", () => {
  const raw = "GET /ws HTTP/1.1\r\nHost: a:8000\r\nCookie: a=1\r\n" +
    "Upgrade:  websocket \r\nCookie: b=2\r\n\r\n";
  const scan = scanRequestHead(bytes(raw), 1024);
  assert.equal(scan.kind, "complete");
  if (scan.kind !== "complete") return;
  assert.deepEqual(scan.head.fields, [
    ["Host", "a:8000"],
    ["Cookie", "a=1"],
    ["Upgrade", "websocket"],
    ["Cookie", "b=2"],
  ]);
  const request = new Request("http://a:8000/ws", {
    headers: scan.head.fields,
  });
  assert.deepEqual([...request.headers], [
    ["cookie", "a=1, b=2"],
    ["host", "a:8000"],
    ["upgrade", "websocket"],
  ]);
});

Deno.test("scanRequestHead: incomplete until the blank line; too large past the limit", () => {
  const partial = bytes("GET / HTTP/1.1\r\nHost: a\r\n");
  assert.deepEqual(scanRequestHead(partial, 1024), { kind: "incomplete" });
  assert.deepEqual(scanRequestHead(partial, partial.length), {
    kind: "too_large",
  });
  const long = bytes("GET / HTTP/1.1\r\nX: " + "a".repeat(100) + "\r\n\r\n");
  assert.deepEqual(scanRequestHead(long, 64), { kind: "too_large" });
});

Deno.test("scanRequestHead: anything but an HTTP/1.x request head is malformed", () => {
  for (
    const raw of [
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/1.1 extra\r\n\r\n",
      "G@T / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nno colon\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
    ]
  ) {
    assert.deepEqual(
      scanRequestHead(bytes(raw), 1024),
      { kind: "malformed" },
      raw,
    );
  }
});

Deno.test("headEnd: finds the blank line, also when searching from where the last chunk ended", () => {
  const raw = bytes("GET / HTTP/1.1\r\n\r\n");
  assert.equal(headEnd(raw), raw.length);
  assert.equal(headEnd(raw, raw.length - 1), raw.length);
  assert.equal(headEnd(bytes("GET / HTTP/1.1\r\n")), -1);
});

Deno.test("scanRequestHead: a value a header may not hold is left to the Request made of the fields, which refuses it", () => {
  const raw = "GET /ws HTTP/1.1\r\nHost: a\r\nX-Bad: a\0b\r\n\r\n";
  const scan = scanRequestHead(bytes(raw), 1024);
  assert.equal(scan.kind, "complete");
  if (scan.kind !== "complete") return;
  assert.throws(() =>
    new Request("http://a/ws", { headers: scan.head.fields })
  );
});

Deno.test("upgradeUrl: the Host and the target as sent; a host that would end the authority early, or a target that is not a path, is refused", () => {
  const head = (target: string, host?: string): RequestHead => ({
    method: "GET",
    target,
    fields: host === undefined ? [] : [["Host", host]],
    length: 0,
  });
  assert.equal(
    upgradeUrl(head("/ws/chat/a?after=3", "chat.example:8000")),
    "http://chat.example:8000/ws/chat/a?after=3",
  );
  assert.equal(upgradeUrl(head("/ws", "127.0.0.1")), "http://127.0.0.1/ws");
  assert.equal(upgradeUrl(head("/ws", "[::1]:80")), "http://[::1]:80/ws");
  assert.equal(upgradeUrl(head("/ws")), "http://localhost/ws");
  // `//host/…` stays the path: resolved, it would name another origin.
  const sneaky = upgradeUrl(head("//evil.example/ws/chat/a", "chat.example"))!;
  assert.equal(new URL(sneaky).origin, "http://chat.example");
  assert.equal(new URL(sneaky).pathname, "//evil.example/ws/chat/a");
  for (
    const host of [
      "evil.example/ws",
      "a@evil.example",
      "a?b",
      "a#b",
      "a\\b",
      "ev\til",
      "a b",
      "a:80:80",
    ]
  ) assert.equal(upgradeUrl(head("/ws", host)), null, host);
  assert.equal(upgradeUrl(head("ws/chat/a", "a")), null);
  assert.equal(upgradeUrl(head("http://evil.example/ws", "a")), null);
});

Deno.test("scanRequestHead: resumed where the last read left off, a head sent a byte at a time is found at its last byte, as if sent at once", () => {
  const raw = bytes(
    "GET /ws/chat/a HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nrest",
  );
  const whole = scanRequestHead(raw, 1024);
  let found = -1;
  for (let length = 1; length <= raw.length && found < 0; length++) {
    const scan = scanRequestHead(raw.subarray(0, length), 1024, length - 1);
    if (scan.kind === "complete") {
      found = length;
      assert.deepEqual(scan, whole);
    } else assert.equal(scan.kind, "incomplete");
  }
  assert.equal(found, raw.length - "rest".length);
});

Deno.test("scanRequestHead: bytes 0x80–0xFF of a field come through as the same code points, so a Request takes them", () => {
  const head = bytes("GET /ws HTTP/1.1\r\nCookie: a=");
  const raw = new Uint8Array([
    ...head,
    0x85, // windows-1252 would make this "…" (U+2026), no ByteString
    0xc3,
    0xa9, // "é" in UTF-8
    ...bytes("\r\n\r\n"),
  ]);
  const scan = scanRequestHead(raw, 1024);
  assert.equal(scan.kind, "complete");
  if (scan.kind !== "complete") return;
  const value = headerField(scan.head, "cookie")!;
  assert.deepEqual(
    [...value].map((c) => c.charCodeAt(0)),
    [0x61, 0x3d, 0x85, 0xc3, 0xa9],
  );
  const request = new Request("http://a/ws");
  request.headers.append("cookie", value);
  assert.equal(request.headers.get("cookie"), value);
});

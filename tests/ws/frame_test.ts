import assert from "node:assert/strict";
import {
  encodeCloseFrame,
  encodeFrame,
  encodeTextFragments,
  encodeTextFrame,
  FailCode,
  type FrameEvent,
  FrameReader,
  MAX_CLOSE_REASON_BYTES,
  MAX_FRAGMENTS,
  Opcode,
} from "../../lib/ws/frame.ts";
import {
  clientFrame,
  clientHeader,
  closeCodeOf,
  ServerFrameReader,
} from "../_helpers/ws_frames.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Feeds `bytes` one byte at a time, collecting every event. */
function byteByByte(reader: FrameReader, bytes: Uint8Array): FrameEvent[] {
  const events: FrameEvent[] = [];
  for (let i = 0; i < bytes.length; i++) {
    events.push(...reader.push(bytes.subarray(i, i + 1)));
  }
  return events;
}

Deno.test("FrameReader: text, binary, ping, pong and close frames, whole or byte by byte", () => {
  const stream = [
    clientFrame(Opcode.text, utf8("héllo")),
    clientFrame(Opcode.binary, new Uint8Array([1, 2, 3])),
    clientFrame(Opcode.ping, utf8("p")),
    clientFrame(Opcode.pong, new Uint8Array(0)),
    clientFrame(Opcode.text, new Uint8Array(0)),
    clientFrame(Opcode.text, utf8("x".repeat(70_000))),
    clientFrame(Opcode.close, new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65])),
  ];
  const all = new Uint8Array(stream.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of stream) {
    all.set(f, at);
    at += f.length;
  }
  const expected: FrameEvent[] = [
    { kind: "text", data: "héllo" },
    { kind: "binary", data: new Uint8Array([1, 2, 3]) },
    { kind: "ping", data: utf8("p") },
    { kind: "pong" },
    { kind: "text", data: "" },
    { kind: "text", data: "x".repeat(70_000) },
    { kind: "close", code: 1000, reason: "bye" },
  ];
  assert.deepEqual(new FrameReader(100_000).push(all), expected);
  assert.deepEqual(byteByByte(new FrameReader(100_000), all), expected);
});

Deno.test("FrameReader: any split of the stream reads the same (headers across chunks, payloads unmasked at any offset)", () => {
  const texts = [
    "a",
    "héllo wörld",
    "y".repeat(125),
    "z".repeat(126),
    "q".repeat(70_001),
  ];
  const frames = texts.map((t) => clientFrame(Opcode.text, utf8(t)));
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  const expected = texts.map((data) => ({ kind: "text", data }));
  for (const size of [2, 3, 5, 7, 13, 4096]) {
    const reader = new FrameReader(100_000);
    const events: FrameEvent[] = [];
    for (let i = 0; i < all.length; i += size) {
      events.push(...reader.push(all.subarray(i, i + size)));
    }
    assert.deepEqual(events, expected, `chunks of ${size}`);
  }
});

Deno.test("FrameReader: a fragmented message is joined; control frames may come between fragments", () => {
  const reader = new FrameReader(1_000);
  const events = [
    ...reader.push(clientFrame(Opcode.text, utf8("ab"), { fin: false })),
    ...reader.push(clientFrame(Opcode.ping, new Uint8Array(0))),
    ...reader.push(
      clientFrame(Opcode.continuation, utf8("cd"), { fin: false }),
    ),
    ...reader.push(clientFrame(Opcode.continuation, utf8("é"))),
  ];
  assert.deepEqual(events, [
    { kind: "ping", data: new Uint8Array(0) },
    { kind: "text", data: "abcdé" },
  ]);
  assert.equal(reader.heldBytes, 0);
});

Deno.test("FrameReader: an oversize frame fails with 1009 from its header, before any payload", () => {
  const reader = new FrameReader(1024);
  // Only the header of a 60 MB frame: the refusal cannot wait for the payload.
  const events = reader.push(clientHeader(Opcode.text, 60_000_000));
  assert.deepEqual(events, [{
    kind: "fail",
    code: FailCode.tooBig,
    reason: "message too big",
    bytes: 60_000_000,
  }]);
  assert.ok(reader.failed);
  assert.equal(reader.heldBytes, 0);
  // After failing, input is ignored (drained), nothing is kept.
  assert.deepEqual(reader.push(new Uint8Array(100_000)), []);
  assert.equal(reader.heldBytes, 0);
});

Deno.test("FrameReader: fragments count together toward the limit; the limit itself is allowed", () => {
  const exact = new FrameReader(10);
  assert.deepEqual(
    [
      ...exact.push(clientFrame(Opcode.text, utf8("12345"), { fin: false })),
      ...exact.push(clientFrame(Opcode.continuation, utf8("67890"))),
    ],
    [{ kind: "text", data: "1234567890" }],
  );
  const over = new FrameReader(10);
  over.push(clientFrame(Opcode.text, utf8("123456"), { fin: false }));
  assert.equal(over.heldBytes, 6);
  const events = over.push(clientHeader(Opcode.continuation, 5));
  assert.deepEqual(events, [{
    kind: "fail",
    code: FailCode.tooBig,
    reason: "message too big",
    bytes: 11,
  }]);
  assert.equal(over.heldBytes, 0);
});

Deno.test("FrameReader: a message may come in MAX_FRAGMENTS frames; one more, even empty, fails it with 1009", () => {
  const fragments = (n: number) => [
    clientFrame(Opcode.text, utf8("a"), { fin: false }),
    ...Array.from(
      { length: n - 2 },
      () => clientFrame(Opcode.continuation, new Uint8Array(0), { fin: false }),
    ),
    clientFrame(Opcode.continuation, utf8("b")),
  ];
  const whole = new FrameReader(1_000);
  assert.deepEqual(
    fragments(MAX_FRAGMENTS).flatMap((f) => whole.push(f)),
    [{ kind: "text", data: "ab" }],
  );
  const flood = new FrameReader(1_000);
  const events = fragments(MAX_FRAGMENTS + 1).flatMap((f) => flood.push(f));
  assert.deepEqual(events, [{
    kind: "fail",
    code: FailCode.tooBig,
    reason: "message in too many fragments",
  }]);
  assert.ok(flood.failed);
});

Deno.test("FrameReader: an unfinished fragment holds only what arrived, at most the limit", () => {
  const reader = new FrameReader(64 * 1024);
  reader.push(clientHeader(Opcode.text, 60_000, { fin: false }));
  reader.push(new Uint8Array(1_000));
  assert.equal(reader.heldBytes, 1_000);
});

Deno.test("FrameReader: protocol errors fail with 1002, bad UTF-8 with 1007", () => {
  const cases: [string, Uint8Array, number][] = [
    ["unmasked", encodeFrame(Opcode.text, utf8("hi")), FailCode.protocol],
    [
      "reserved bits",
      (() => {
        const f = clientFrame(Opcode.text, utf8("hi"));
        f[0] |= 0x40;
        return f;
      })(),
      FailCode.protocol,
    ],
    ["unknown opcode", clientFrame(0x3, utf8("hi")), FailCode.protocol],
    [
      "continuation first",
      clientFrame(Opcode.continuation, utf8("hi")),
      FailCode.protocol,
    ],
    [
      "fragmented ping",
      clientFrame(Opcode.ping, utf8("hi"), { fin: false }),
      FailCode.protocol,
    ],
    [
      "long ping",
      clientFrame(Opcode.ping, new Uint8Array(126)),
      FailCode.protocol,
    ],
    [
      "close code 1005 sent",
      clientFrame(Opcode.close, new Uint8Array([0x03, 0xed])),
      FailCode.protocol,
    ],
    [
      "one-byte close",
      clientFrame(Opcode.close, new Uint8Array([3])),
      FailCode.protocol,
    ],
    [
      "bad UTF-8",
      clientFrame(Opcode.text, new Uint8Array([0xc3, 0x28])),
      FailCode.invalidData,
    ],
  ];
  for (const [name, bytes, code] of cases) {
    const events = new FrameReader(1024).push(bytes);
    assert.equal(events.length, 1, name);
    const [event] = events;
    assert.ok(event.kind === "fail" && event.code === code, name);
  }
  const nested = new FrameReader(1024);
  nested.push(clientFrame(Opcode.text, utf8("a"), { fin: false }));
  const [event] = nested.push(clientFrame(Opcode.text, utf8("b")));
  assert.ok(event.kind === "fail" && event.code === FailCode.protocol);
});

Deno.test("encodeTextFrame / encodeFrame: every length form reads back; one string is encoded once", () => {
  const reader = new ServerFrameReader();
  for (const n of [0, 125, 126, 65_535, 65_536, 200_000]) {
    const text = "é".repeat(n >> 1) + (n & 1 ? "x" : "");
    const [frame] = reader.push(encodeTextFrame(text));
    assert.equal(frame.opcode, Opcode.text);
    assert.ok(frame.fin);
    assert.equal(new TextDecoder().decode(frame.payload), text);
    const [binary] = reader.push(encodeFrame(Opcode.binary, utf8(text)));
    assert.deepEqual(binary.payload, utf8(text));
  }
  const shared = "a frame for a whole room";
  assert.equal(encodeTextFrame(shared), encodeTextFrame(shared));
});

Deno.test("encodeTextFragments: one message as a text frame without FIN, continuations, the last with FIN; a shared first part is encoded once", () => {
  const reader = new ServerFrameReader();
  const parts = ['{"state":{"é":1}', ',"joins":{}', "}"];
  const frames = reader.push(concatBytes(encodeTextFragments(parts)));
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.fin]),
    [[Opcode.text, false], [Opcode.continuation, false], [
      Opcode.continuation,
      true,
    ]],
  );
  assert.equal(
    new TextDecoder().decode(concatBytes(frames.map((f) => f.payload))),
    parts.join(""),
  );
  // The shared first part: the same bytes for every message that starts with it.
  const [a] = encodeTextFragments([parts[0], "}"]);
  const [b] = encodeTextFragments([parts[0], ',"joins":{"x":1}}']);
  assert.equal(a, b);
  // One part is a whole frame, the one encodeTextFrame makes.
  const [whole] = encodeTextFragments(["solo"]);
  assert.equal(whole, encodeTextFrame("solo"));
});

Deno.test("encodeCloseFrame: code and reason, the reason cut on a character boundary", () => {
  const [frame] = new ServerFrameReader().push(
    encodeCloseFrame(1009, "é".repeat(100)),
  );
  assert.equal(frame.opcode, Opcode.close);
  assert.equal(closeCodeOf(frame.payload), 1009);
  const reason = new TextDecoder("utf-8", { fatal: true }).decode(
    frame.payload.subarray(2),
  );
  assert.ok(reason.length > 0 && /^é+$/.test(reason));
  assert.ok(frame.payload.length - 2 <= MAX_CLOSE_REASON_BYTES);
});

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

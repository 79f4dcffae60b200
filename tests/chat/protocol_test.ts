import assert from "node:assert/strict";
import {
  DEFAULT_PAGE_SIZE,
  encodeServerFrame,
  errorFrame,
  exceedsUtf8Bytes,
  MAX_CLIENT_ID_CHARS,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CHARS,
  MAX_MUTE_MINUTES,
  MAX_PAGE_SIZE,
  MAX_REASON_CHARS,
  MAX_SLOW_MODE_SECONDS,
  MAX_TITLE_CHARS,
  MAX_TOPIC_CHARS,
  normalizeMessageText,
  parseClientFrame,
  type ParseResult,
  parseSeqParam,
  parseServerFrame,
  rateLimited,
  type ServerFrame,
  unreachable,
  validateMessage,
  validateRoomSettings,
} from "../../lib/chat/protocol.ts";
import {
  MAX_NAME_CHARS,
  MAX_ROOM_CHARS,
  normalizeDisplayName,
  normalizeRoomName,
} from "../../lib/chat/names.ts";

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

function errorCode(result: ParseResult): string {
  assert.equal(
    result.ok,
    false,
    `expected an error, got ${JSON.stringify(result)}`,
  );
  return (result as { code: string }).code;
}

function parsed(raw: unknown) {
  const result = parseClientFrame(
    typeof raw === "string" ? raw : JSON.stringify(raw),
  );
  if (!result.ok) {
    assert.fail(`expected a frame, got ${result.code}: ${result.message}`);
  }
  return result.frame;
}

const msg = (text: unknown, clientId: unknown = "c-1") =>
  JSON.stringify({ type: "message", text, clientId });

// ---------------------------------------------------------------- bad input

Deno.test("parseClientFrame: text that is not JSON is bad_json", () => {
  for (
    const raw of [
      "{not json",
      "",
      "   ",
      "{'type':'message'}",
      "undefined",
      '{"type":',
    ]
  ) {
    const r = parseClientFrame(raw);
    assert.equal(errorCode(r), "bad_json", JSON.stringify(raw));
    assert.ok(!r.ok && r.message.length > 0);
  }
});

Deno.test("parseClientFrame: JSON that is not an object is bad_frame", () => {
  for (const raw of ["[1,2]", "[]", '"message"', "42", "null", "true"]) {
    assert.equal(errorCode(parseClientFrame(raw)), "bad_frame", raw);
  }
});

Deno.test("parseClientFrame: missing or non-string type is bad_frame, unknown type is unknown_type", () => {
  assert.equal(errorCode(parseClientFrame("{}")), "bad_frame");
  assert.equal(errorCode(parseClientFrame('{"text":"no type"}')), "bad_frame");
  assert.equal(errorCode(parseClientFrame('{"type":42}')), "bad_frame");
  assert.equal(errorCode(parseClientFrame('{"type":null}')), "bad_frame");
  assert.equal(
    errorCode(parseClientFrame('{"type":["message"]}')),
    "bad_frame",
  );
  for (
    const type of [
      "dance",
      "MESSAGE",
      "welcome",
      "error",
      "toString",
      "constructor",
      "",
    ]
  ) {
    assert.equal(
      errorCode(parseClientFrame(JSON.stringify({ type }))),
      "unknown_type",
      type,
    );
  }
});

Deno.test("parseClientFrame: message text must be a string", () => {
  for (const text of [42, null, ["hi"], { t: "hi" }, true]) {
    assert.equal(
      errorCode(parseClientFrame(msg(text))),
      "bad_frame",
      String(text),
    );
  }
  assert.equal(
    errorCode(parseClientFrame('{"type":"message","clientId":"a"}')),
    "bad_frame",
  );
});

Deno.test("parseClientFrame: empty, whitespace-only or control-only text is empty_text", () => {
  for (
    const text of [
      "",
      " ",
      "   \n\t  ",
      "\r\n",
      "\u0000\u0007",
      "\u202e",
      " \u202d\u0001 ",
    ]
  ) {
    assert.equal(
      errorCode(parseClientFrame(msg(text))),
      "empty_text",
      JSON.stringify(text),
    );
  }
});

Deno.test("parseClientFrame: text over MAX_MESSAGE_CHARS is text_too_long; exactly the limit is accepted", () => {
  assert.equal(
    errorCode(parseClientFrame(msg("x".repeat(MAX_MESSAGE_CHARS + 1)))),
    "text_too_long",
  );
  const atLimit = parsed(msg("x".repeat(MAX_MESSAGE_CHARS)));
  assert.equal(
    atLimit.type === "message" && atLimit.text.length,
    MAX_MESSAGE_CHARS,
  );
  // The limit applies after trimming: surrounding whitespace does not count.
  const padded = parsed(msg(`   ${"y".repeat(MAX_MESSAGE_CHARS)}   `));
  assert.equal(
    padded.type === "message" && padded.text,
    "y".repeat(MAX_MESSAGE_CHARS),
  );
  // UTF-16 units: 2001 astral emoji are 4002 units.
  assert.equal(
    errorCode(parseClientFrame(msg("😀".repeat(MAX_MESSAGE_CHARS / 2 + 1)))),
    "text_too_long",
  );
  assert.ok(parseClientFrame(msg("😀".repeat(MAX_MESSAGE_CHARS / 2))).ok);
});

Deno.test("parseClientFrame: frames over MAX_FRAME_BYTES are frame_too_large before parsing", () => {
  // Not even JSON: the size check comes first.
  assert.equal(
    errorCode(parseClientFrame("y".repeat(MAX_FRAME_BYTES + 1))),
    "frame_too_large",
  );
  assert.equal(
    errorCode(parseClientFrame(" ".repeat(MAX_FRAME_BYTES + 1) + "{}")),
    "frame_too_large",
  );
  // Exactly MAX_FRAME_BYTES of ASCII is not too large (it is parsed: a valid frame).
  const head = '{"type":"resume","after":1}';
  const exact = head + " ".repeat(MAX_FRAME_BYTES - head.length);
  assert.equal(utf8Length(exact), MAX_FRAME_BYTES);
  assert.deepEqual(parsed(exact), { type: "resume", after: 1 });
});

Deno.test("parseClientFrame: multi-byte characters count in UTF-8 bytes, not UTF-16 units", () => {
  const shell = (fill: string) => msg(fill, "c-1");
  const overhead = utf8Length(shell(""));
  // "é" is 2 bytes, one UTF-16 unit; "€" is 3 bytes, one unit; "😀" is 4 bytes, two units.
  for (const [ch, bytes] of [["é", 2], ["€", 3], ["😀", 4]] as const) {
    const count = Math.floor((MAX_FRAME_BYTES - overhead) / bytes) + 1;
    const raw = shell(ch.repeat(count));
    assert.ok(utf8Length(raw) > MAX_FRAME_BYTES, ch);
    assert.ok(utf8Length(raw) <= MAX_FRAME_BYTES + bytes, ch);
    assert.ok(
      raw.length < MAX_FRAME_BYTES,
      `${ch}: under the limit in UTF-16 units`,
    );
    assert.equal(errorCode(parseClientFrame(raw)), "frame_too_large", ch);
  }
  // One "é" less than the byte limit is not refused for size.
  const fits = shell("é".repeat(Math.floor((MAX_FRAME_BYTES - overhead) / 2)));
  assert.ok(utf8Length(fits) <= MAX_FRAME_BYTES);
  assert.notEqual(errorCode(parseClientFrame(fits)), "frame_too_large");
});

Deno.test("exceedsUtf8Bytes agrees with TextEncoder around the limit", () => {
  const limit = 30;
  for (
    const s of [
      "a".repeat(30),
      "a".repeat(31),
      "é".repeat(15),
      "é".repeat(16),
      "€".repeat(10),
      "€".repeat(11),
      "😀".repeat(7),
      "😀".repeat(8),
      "a".repeat(29) + "é",
      "\ud800".repeat(10),
      "\ud800".repeat(11),
    ]
  ) {
    assert.equal(
      exceedsUtf8Bytes(s, limit),
      utf8Length(s) > limit,
      JSON.stringify(s),
    );
  }
});

Deno.test("parseClientFrame: a bad clientId is bad_frame", () => {
  assert.equal(
    errorCode(parseClientFrame('{"type":"message","text":"hi"}')),
    "bad_frame",
  );
  const bad: unknown[] = [
    "",
    42,
    null,
    ["a"],
    "x".repeat(MAX_CLIENT_ID_CHARS + 1),
    "has space",
    "a/b",
    "a.b",
    "é",
    "<script>",
    "a\nb",
  ];
  for (const clientId of bad) {
    assert.equal(
      errorCode(parseClientFrame(msg("hi", clientId))),
      "bad_frame",
      JSON.stringify(clientId),
    );
  }
  const good = [
    "a",
    "x".repeat(MAX_CLIENT_ID_CHARS),
    crypto.randomUUID(),
    "A_b-9",
  ];
  for (const clientId of good) {
    assert.deepEqual(parsed(msg("hi", clientId)), {
      type: "message",
      text: "hi",
      clientId,
    });
  }
});

Deno.test("parseClientFrame: resume needs a non-negative safe integer `after`", () => {
  for (const after of [-1, 1.5, "3", null, true, 2 ** 53, 1e300]) {
    assert.equal(
      errorCode(parseClientFrame(JSON.stringify({ type: "resume", after }))),
      "bad_frame",
      String(after),
    );
  }
  assert.equal(errorCode(parseClientFrame('{"type":"resume"}')), "bad_frame");
  assert.deepEqual(parsed({ type: "resume", after: 0 }), {
    type: "resume",
    after: 0,
  });
  assert.deepEqual(
    parsed({ type: "resume", after: Number.MAX_SAFE_INTEGER }),
    { type: "resume", after: Number.MAX_SAFE_INTEGER },
  );
});

Deno.test("parseClientFrame: history bounds on before and limit", () => {
  for (const before of [-1, 0.5, "10", null]) {
    assert.equal(
      errorCode(
        parseClientFrame(
          JSON.stringify({ type: "history", before, limit: 10 }),
        ),
      ),
      "bad_frame",
      String(before),
    );
  }
  assert.equal(
    errorCode(parseClientFrame('{"type":"history","limit":10}')),
    "bad_frame",
  );
  for (const limit of [0, -1, MAX_PAGE_SIZE + 1, 10_000, 1.5, "10", null]) {
    assert.equal(
      errorCode(
        parseClientFrame(
          JSON.stringify({ type: "history", before: 10, limit }),
        ),
      ),
      "bad_frame",
      String(limit),
    );
  }
  assert.deepEqual(parsed({ type: "history", before: 10, limit: 1 }), {
    type: "history",
    before: 10,
    limit: 1,
  });
  assert.deepEqual(
    parsed({ type: "history", before: 10, limit: MAX_PAGE_SIZE }),
    { type: "history", before: 10, limit: MAX_PAGE_SIZE },
  );
  assert.deepEqual(parsed({ type: "history", before: 0 }), {
    type: "history",
    before: 0,
    limit: DEFAULT_PAGE_SIZE,
  });
});

Deno.test("parseClientFrame: __proto__ keys are plain data and pollute nothing", () => {
  const raw =
    '{"type":"message","text":"hi","clientId":"c1","__proto__":{"type":"resume","polluted":true,"isAdmin":true}}';
  const frame = parsed(raw);
  assert.deepEqual(frame, { type: "message", text: "hi", clientId: "c1" });
  assert.deepEqual(Object.keys(frame).sort(), ["clientId", "text", "type"]);
  assert.equal(Object.getPrototypeOf(frame), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
  // A type only under __proto__ is no type at all.
  assert.equal(
    errorCode(
      parseClientFrame(
        '{"__proto__":{"type":"message","text":"x","clientId":"a"}}',
      ),
    ),
    "bad_frame",
  );
  assert.equal(
    errorCode(parseClientFrame('{"type":"resume","__proto__":{"after":5}}')),
    "bad_frame",
  );
  assert.equal(
    errorCode(parseClientFrame('{"type":"__proto__"}')),
    "unknown_type",
  );
});

// ---------------------------------------------------------------- good frames

Deno.test("parseClientFrame: good frames come back exactly, extra fields dropped", () => {
  assert.deepEqual(
    parsed({
      type: "message",
      text: "hello",
      clientId: "c-1",
      extra: "x",
      user: { id: "admin" },
    }),
    { type: "message", text: "hello", clientId: "c-1" },
  );
  assert.deepEqual(parsed({ type: "resume", after: 7, limit: 3 }), {
    type: "resume",
    after: 7,
  });
  assert.deepEqual(parsed({ type: "history", before: 20, limit: 5, x: 1 }), {
    type: "history",
    before: 20,
    limit: 5,
  });
});

Deno.test("parseClientFrame: message text is normalized (trimmed, CRLF, controls and overrides removed)", () => {
  assert.deepEqual(parsed(msg("  hi there \n")), {
    type: "message",
    text: "hi there",
    clientId: "c-1",
  });
  const frame = parsed(msg("a\r\nb\rc\u0000d\u202ee\tf"));
  assert.equal(frame.type === "message" && frame.text, "a\nb\ncde\tf");
  // Emoji with zero-width joiners and non-Latin text are untouched.
  const family = "👨‍👩‍👧 Здравствуйте 你好 مرحبا";
  const f2 = parsed(msg(family));
  assert.equal(f2.type === "message" && f2.text, family);
});

// ---------------------------------------------------------------- rooms

Deno.test("normalizeRoomName: NFKC, case, spaces", () => {
  assert.equal(normalizeRoomName("general"), "general");
  assert.equal(normalizeRoomName(" General Chat "), "general-chat");
  assert.equal(normalizeRoomName("GENERAL"), "general");
  assert.equal(normalizeRoomName("ＧＥＮＥＲＡＬ"), "general"); // full-width letters
  assert.equal(normalizeRoomName("ｒｏｏｍ１２３"), "room123"); // full-width digits
  assert.equal(normalizeRoomName("ﬁle"), "file"); // ligature
  assert.equal(normalizeRoomName("\u212Aelvin"), "kelvin"); // KELVIN SIGN
  assert.equal(normalizeRoomName("a  b\tc"), "a-b-c");
  assert.equal(normalizeRoomName("a\u00a0b"), "a-b"); // no-break space
  assert.equal(normalizeRoomName("a\u3000b"), "a-b"); // ideographic space
  assert.equal(normalizeRoomName("dev_ops-2"), "dev_ops-2");
});

Deno.test("normalizeRoomName: 64 characters is the limit", () => {
  assert.equal(MAX_ROOM_CHARS, 64);
  assert.equal(normalizeRoomName("r".repeat(64)), "r".repeat(64));
  assert.equal(normalizeRoomName("r".repeat(65)), null);
  assert.equal(normalizeRoomName("Ｒ".repeat(64)), "r".repeat(64));
  assert.equal(normalizeRoomName("Ｒ".repeat(65)), null);
  // Surrounding whitespace is trimmed before counting.
  assert.equal(normalizeRoomName(`  ${"r".repeat(64)}  `), "r".repeat(64));
  assert.equal(normalizeRoomName("r".repeat(10_000)), null);
});

Deno.test("normalizeRoomName: rejects traversal, punctuation, empty and non-ASCII letters", () => {
  const bad = [
    "../x",
    "..",
    ".",
    "a/b",
    "a\\b",
    "a.b",
    "%2e%2e",
    "",
    "   ",
    "\t",
    "café",
    "ñandú",
    "日本",
    "чат",
    "😀",
    "room!",
    "<script>",
    "a\u0000b",
    "a\u202eb",
    "İstanbul", // lower-cases to i + combining dot
  ];
  for (const room of bad) {
    assert.equal(normalizeRoomName(room), null, JSON.stringify(room));
  }
  assert.equal(normalizeRoomName(undefined as unknown as string), null);
  assert.equal(normalizeRoomName(42 as unknown as string), null);
});

// ---------------------------------------------------------------- names

Deno.test("normalizeDisplayName: strips controls, zero-width and bidi characters", () => {
  assert.equal(normalizeDisplayName("Ana\u202Eevil"), "Anaevil");
  assert.equal(normalizeDisplayName("\u202Dmallory\u202C"), "mallory");
  assert.equal(normalizeDisplayName("\u2066x\u2069"), "x");
  assert.equal(normalizeDisplayName("A\u200Bn\u200Fa\uFEFF"), "Ana");
  assert.equal(
    normalizeDisplayName("\u0000A\u0007n\u001Ba\u007F\u0085"),
    "Ana",
  );
  for (const s of ["Ana\nAdmin", "Ana\rX", "Ana\u2028X"]) {
    const name = normalizeDisplayName(s)!;
    assert.ok(name !== null && !/[\n\r\u2028]/.test(name), JSON.stringify(s));
  }
  assert.equal(normalizeDisplayName("\u202E\u200B\u0000"), null);
});

Deno.test("normalizeDisplayName: NFKC, whitespace collapsed and trimmed", () => {
  assert.equal(normalizeDisplayName("  Ana   Lee  "), "Ana Lee");
  assert.equal(normalizeDisplayName("Ana\u00a0\u3000Lee"), "Ana Lee");
  assert.equal(normalizeDisplayName("Ａｎａ"), "Ana");
  assert.equal(normalizeDisplayName("Zoë 李"), "Zoë 李");
  assert.equal(normalizeDisplayName("   "), null);
  assert.equal(normalizeDisplayName(""), null);
  assert.equal(normalizeDisplayName(undefined), null);
  assert.equal(normalizeDisplayName(42), null);
  assert.equal(normalizeDisplayName({ name: "Ana" }), null);
});

Deno.test("normalizeDisplayName: 32 characters is the limit, counted after normalization", () => {
  assert.equal(MAX_NAME_CHARS, 32);
  assert.equal(normalizeDisplayName("n".repeat(32)), "n".repeat(32));
  assert.equal(normalizeDisplayName("n".repeat(33)), null);
  // 33 raw characters, 32 once the double space collapses.
  const collapsing = "n".repeat(16) + "  " + "n".repeat(15);
  assert.equal(collapsing.length, 33);
  assert.equal(
    normalizeDisplayName(collapsing),
    "n".repeat(16) + " " + "n".repeat(15),
  );
  // Stripped characters do not count.
  assert.equal(
    normalizeDisplayName("n".repeat(32) + "\u202E\u200B"),
    "n".repeat(32),
  );
  assert.equal(normalizeDisplayName("n".repeat(10_000)), null);
});

// ---------------------------------------------------------------- text

Deno.test("normalizeMessageText: keeps newlines, tabs and isolates; removes other controls and overrides", () => {
  assert.equal(
    normalizeMessageText("  line 1\nline 2\t!  "),
    "line 1\nline 2\t!",
  );
  assert.equal(normalizeMessageText("a\r\nb\rc"), "a\nb\nc");
  assert.equal(
    normalizeMessageText("a\u0000b\u0008c\u000bd\u001fe\u007ff\u009fg"),
    "abcdefg",
  );
  assert.equal(
    normalizeMessageText("x\u202ay\u202bz\u202c\u202d\u202e"),
    "xyz",
  );
  assert.equal(
    normalizeMessageText("\u2066isolated\u2069"),
    "\u2066isolated\u2069",
  );
  assert.equal(normalizeMessageText("👩‍💻"), "👩‍💻");
  assert.equal(normalizeMessageText("\u0000 \u202e "), "");
  // No NFKC on messages: what the user typed (full-width, ligatures) stays.
  assert.equal(normalizeMessageText("ＡＢ ﬁ"), "ＡＢ ﬁ");
});

Deno.test("encodeServerFrame and errorFrame: JSON that round-trips", () => {
  const frame = errorFrame("rate_limited", "Slow down.", 1500);
  assert.deepEqual(frame, {
    type: "error",
    code: "rate_limited",
    message: "Slow down.",
    retryAfter: 1500,
  });
  assert.deepEqual(JSON.parse(encodeServerFrame(frame)), frame);
  assert.ok(!("retryAfter" in errorFrame("bad_json", "x")));
});

Deno.test("validateMessage: the same checks for every entry point, with the text normalized", () => {
  assert.deepEqual(validateMessage("  hi\r\nthere ", "c-1"), {
    ok: true,
    value: { text: "hi\nthere", clientId: "c-1" },
  });
  const cases: [unknown, unknown, string][] = [
    [42, "c-1", "bad_frame"],
    ["hi", "", "bad_frame"],
    ["hi", "has space", "bad_frame"],
    ["hi", "x".repeat(MAX_CLIENT_ID_CHARS + 1), "bad_frame"],
    ["   ", "c-1", "empty_text"],
    ["x".repeat(MAX_MESSAGE_CHARS + 1), "c-1", "text_too_long"],
  ];
  for (const [text, clientId, code] of cases) {
    const result = validateMessage(text, clientId);
    assert.equal(result.ok, false, `${text} / ${clientId}`);
    assert.equal(!result.ok && result.code, code);
    assert.ok(!result.ok && result.message.length > 0);
  }
  assert.ok(validateMessage("x".repeat(MAX_MESSAGE_CHARS), "c-1").ok);
});

Deno.test("rateLimited: one wording, with the wait", () => {
  assert.deepEqual(rateLimited(1500), {
    ok: false,
    code: "rate_limited",
    message: "You are sending too fast.",
    retryAfter: 1500,
  });
});

Deno.test("unreachable throws on a value a switch did not expect", () => {
  assert.throws(() => unreachable("surprise" as never), /unhandled/);
});

// ------------------------------------------------------------ server frames

Deno.test("parseServerFrame: every frame the server encodes reads back as itself", () => {
  const user = { id: "guest:ana", name: "Ana", kind: "guest" as const };
  const message = {
    id: "m1",
    seq: 1,
    room: "r",
    user,
    text: "hi",
    ts: 1,
    clientId: "c1",
  };
  const presence = { [user.id]: { user, metas: [{ conn: "c", since: 1 }] } };
  const frames: {
    [K in ServerFrame["type"]]: Extract<ServerFrame, { type: K }>;
  } = {
    welcome: {
      type: "welcome",
      you: user,
      room: "r",
      history: [message],
      hasMore: false,
      lastSeq: 1,
      rate: { burst: 20, perSecond: 2 },
    },
    message: { type: "message", message },
    event: {
      type: "event",
      event: {
        kind: "react",
        target: 1,
        emoji: "👍",
        on: true,
        seq: 2,
        room: "r",
        user,
        ts: 2,
        clientId: "e1",
      },
    },
    history: {
      type: "history",
      direction: "older",
      messages: [message],
      hasMore: true,
    },
    error: {
      type: "error",
      code: "rate_limited",
      message: "Slow down.",
      retryAfter: 2,
      refused: "message",
      clientId: "c1",
    },
    pong: { type: "pong" },
    resync: { type: "resync" },
    presence: { type: "presence", state: presence, joins: presence },
    typing: { type: "typing", userId: user.id, name: "Ana", ttl: 5_000 },
    room: {
      type: "room",
      info: {
        room: "r",
        owner: null,
        settings: {
          title: "",
          topic: "",
          visibility: "unlisted",
          postPolicy: "signed_in",
          slowModeSeconds: 5,
          guestsAllowed: false,
        },
        created: 1,
        updated: 2,
      },
    },
    standing: { type: "standing", role: null, mute: { until: null } },
    reports: { type: "reports", count: 2 },
  };
  for (const frame of Object.values(frames)) {
    assert.deepEqual(parseServerFrame(encodeServerFrame(frame)), frame);
  }
});

Deno.test("parseServerFrame: anything else is null", () => {
  for (
    const raw of [
      "{not json",
      "null",
      "[]",
      '"welcome"',
      '{"type":"nope"}',
      '{"no":"type"}',
      '{"type":"welcome","history":[],"lastSeq":-1}',
      '{"type":"message","message":{"seq":1}}',
      '{"type":"history","direction":"sideways","messages":[],"hasMore":false}',
      '{"type":"error","code":"x"}',
      '{"type":"presence","state":{"u":{"user":{"id":"u","name":"U"},"metas":[{}]}}}',
      '{"type":"typing","userId":"u","name":"U"}',
    ]
  ) {
    assert.equal(parseServerFrame(raw), null, raw);
  }
  assert.equal(parseServerFrame(new ArrayBuffer(2)), null, "binary");
});

Deno.test("parseServerFrame: a welcome's resumeFrom is a seq, or absent", () => {
  const welcome = {
    type: "welcome",
    you: { id: "guest:ana", name: "Ana", kind: "guest" },
    room: "r",
    history: [],
    hasMore: false,
    lastSeq: 9,
    resumeFrom: 4,
    rate: { burst: 20, perSecond: 2 },
  };
  assert.deepEqual(parseServerFrame(JSON.stringify(welcome)), welcome);
  for (const resumeFrom of [-1, 1.5, "4", null]) {
    const raw = JSON.stringify({ ...welcome, resumeFrom });
    assert.equal(parseServerFrame(raw), null, raw);
  }
});

Deno.test("parseSeqParam: a query's seq is decimal digits of a safe integer; absent is undefined, anything else null", () => {
  assert.equal(parseSeqParam(undefined), undefined);
  assert.equal(parseSeqParam(null), undefined);
  assert.equal(parseSeqParam("0"), 0);
  assert.equal(parseSeqParam("42"), 42);
  assert.equal(parseSeqParam("007"), 7);
  assert.equal(
    parseSeqParam(String(Number.MAX_SAFE_INTEGER)),
    Number.MAX_SAFE_INTEGER,
  );
  for (
    const bad of [
      "",
      "-1",
      "-0",
      "+1",
      "1.5",
      "1.0",
      "abc",
      "1e3",
      "0x10",
      " 7",
      "7 ",
      "Infinity",
      "NaN",
      String(2 ** 53),
      "9".repeat(20),
      "1".repeat(1_000),
    ]
  ) {
    assert.equal(parseSeqParam(bad), null, JSON.stringify(bad));
  }
});

Deno.test("moderation frames: moderate and report are validated in one place", () => {
  const user = { id: "guest:1", name: "  Gus  " };
  const ok = parseClientFrame(JSON.stringify({
    type: "moderate",
    action: "mute",
    user,
    minutes: 10,
    reason: " spam\u0000 ",
    clientId: "c1",
  }));
  assert.deepEqual(ok, {
    ok: true,
    frame: {
      type: "moderate",
      clientId: "c1",
      action: "mute",
      user: { id: "guest:1", name: "Gus" },
      minutes: 10,
      reason: "spam",
    },
  });
  const bad = [
    { action: "smite", user },
    { action: "kick", user: { id: "", name: "x" } },
    { action: "kick", user: { id: "u" } },
    { action: "mute", user, minutes: 0 },
    { action: "mute", user, minutes: MAX_MUTE_MINUTES + 1 },
    { action: "kick", user, minutes: 5 },
    { action: "kick", user, reason: "x".repeat(MAX_REASON_CHARS + 1) },
  ];
  for (const fields of bad) {
    const r = parseClientFrame(
      JSON.stringify({ type: "moderate", clientId: "c1", ...fields }),
    );
    assert.equal(r.ok, false, JSON.stringify(fields));
  }
  assert.deepEqual(
    parseClientFrame('{"type":"report","target":3,"clientId":"c2"}'),
    { ok: true, frame: { type: "report", target: 3, clientId: "c2" } },
  );
  assert.equal(
    parseClientFrame('{"type":"report","target":0,"clientId":"c2"}').ok,
    false,
  );
  assert.equal(parseClientFrame('{"type":"report","target":3}').ok, false);
});

Deno.test("validateRoomSettings: fields optional, bounded, forms' strings taken", () => {
  const current = {
    title: "",
    topic: "",
    visibility: "public" as const,
    postPolicy: "everyone" as const,
    slowModeSeconds: 0,
    guestsAllowed: true,
  };
  assert.deepEqual(
    validateRoomSettings({
      title: "  Cats\n and dogs ",
      slowModeSeconds: "10",
      guestsAllowed: "false",
      visibility: "unlisted",
    }, current),
    {
      ok: true,
      value: {
        ...current,
        title: "Cats and dogs",
        slowModeSeconds: 10,
        guestsAllowed: false,
        visibility: "unlisted",
      },
    },
  );
  assert.deepEqual(validateRoomSettings({}, current), {
    ok: true,
    value: current,
  });
  for (
    const bad of [
      { title: "x".repeat(MAX_TITLE_CHARS + 1) },
      { topic: "x".repeat(MAX_TOPIC_CHARS + 1) },
      { visibility: "secret" },
      { postPolicy: "nobody" },
      { slowModeSeconds: -1 },
      { slowModeSeconds: 1.5 },
      { slowModeSeconds: MAX_SLOW_MODE_SECONDS + 1 },
      { guestsAllowed: "maybe" },
      { title: 5 },
    ]
  ) {
    assert.equal(
      validateRoomSettings(bad, current).ok,
      false,
      JSON.stringify(bad),
    );
  }
});

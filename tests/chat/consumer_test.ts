/**
 * Hardening tests for the connection handler (lib/chat/consumer.ts): the real
 * app in this process, real sockets on 127.0.0.1. A fuzzer, a flooder, a
 * reader that stops reading and connection churn; through all of it the
 * server stays up, well-behaved clients lose nothing and nothing leaks.
 *
 * Every wait is on a frame, a close or a server-side count, bounded by a
 * deadline; loops are bounded in count and time.
 */
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { startServer, type TestServer } from "../_helpers/server.ts";
import {
  openRawSocket,
  type RawSocket,
  TestClient,
  writeAll,
} from "../_helpers/ws_client.ts";
import { eventually, Signal } from "../../support/wait.ts";
import { MAX_BUFFERED_BYTES } from "../../lib/chat/consumer.ts";
import { CloseCode } from "../../lib/shared.ts";
import {
  type ErrorCode,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CHARS,
  parseClientFrame,
  type ServerFrame,
} from "../../lib/chat/protocol.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";
import {
  MAX_RATE_VIOLATIONS,
  MESSAGE_BURST,
  MESSAGE_RATE_PER_S,
  TYPING_BURST,
} from "../../lib/chat/rate_limit.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------- helpers

function rssMiB(): number {
  return Deno.memoryUsage().rss / MiB;
}

/**
 * A full garbage collection, so heap figures show what is live rather than
 * what V8 has not yet collected. `--expose-gc` is switched on at run time
 * (Node's documented way, which Deno supports) since `deno test` is run
 * without V8 flags.
 */
const fullGc: () => void = (() => {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
})();

/** Live JS heap in MiB, after a full collection. */
function liveHeapMiB(): number {
  fullGc();
  return Deno.memoryUsage().heapUsed / MiB;
}

/** mulberry32: a small, seedable PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function connect(server: TestServer, room: string, cookie: string) {
  return TestClient.connect(server.wsUrl(room), {
    cookie,
    origin: server.origin,
  });
}

/** Every message the store holds for `room`, oldest first. */
async function storedMessages(
  server: TestServer,
  room: string,
): Promise<ChatMessage[]> {
  const out: ChatMessage[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await server.services.store.after(
      room,
      out.at(-1)?.seq ?? 0,
      100,
    );
    out.push(...page.messages);
    if (!page.hasMore) return out;
  }
  throw new Error("store pages did not end");
}

/** What a raw reader found once it finally read: the data frames, then the close. */
interface Drained {
  textFrames: string[];
  bytes: number;
  closeCode: number | null;
  closeReason: string;
}

/**
 * Reads unmasked server frames from `raw` until a close frame (or EOF, or
 * `maxBytes`), bounded in time by `timeoutMs`.
 */
async function drainUntilClose(
  raw: RawSocket,
  maxBytes: number,
  timeoutMs: number,
): Promise<Drained> {
  const out: Drained = {
    textFrames: [],
    bytes: 0,
    closeCode: null,
    closeReason: "",
  };
  let buf = raw.rest;
  let message = "";
  const chunk = new Uint8Array(256 * 1024);
  const deadline = performance.now() + timeoutMs;
  const timer = setTimeout(() => {
    try {
      raw.conn.close();
    } catch { /* closed already */ }
  }, timeoutMs);
  try {
    while (out.bytes < maxBytes && performance.now() < deadline) {
      // Parse every complete frame in the buffer.
      for (;;) {
        if (buf.length < 2) break;
        const opcode = buf[0] & 0x0f;
        const fin = (buf[0] & 0x80) !== 0;
        let len = buf[1] & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = (buf[2] << 8) | buf[3];
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8)
            .getBigUint64(0));
          at = 10;
        }
        if (buf.length < at + len) break;
        const payload = buf.subarray(at, at + len);
        buf = buf.subarray(at + len);
        // A text message may come in fragments (a presence state's shared part first).
        if (opcode === 0x1 || opcode === 0x0) {
          message = (opcode === 0x1 ? "" : message) + decoder.decode(payload);
          if (fin) out.textFrames.push(message);
        }
        if (opcode === 0x8) {
          out.closeCode = payload.length >= 2
            ? (payload[0] << 8) | payload[1]
            : 1005;
          out.closeReason = decoder.decode(payload.subarray(2));
          return out;
        }
      }
      const n = await raw.conn.read(chunk);
      if (n === null) return out;
      out.bytes += n;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a masked close frame (a client must mask) with `code`. */
async function rawCloseReply(raw: RawSocket, code: number): Promise<void> {
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const payload = [code >> 8, code & 0xff].map((b, i) => b ^ mask[i]);
  await writeAll(
    raw.conn,
    new Uint8Array([0x88, 0x80 | 2, ...mask, ...payload]),
  );
}

/** Resolves with true at EOF, false if the peer kept the connection open past `timeoutMs`. */
async function eof(raw: RawSocket, timeoutMs: number): Promise<boolean> {
  const chunk = new Uint8Array(64 * 1024);
  const timer = setTimeout(() => {
    try {
      raw.conn.close();
    } catch { /* closed already */ }
  }, timeoutMs);
  try {
    for (let i = 0; i < 10_000; i++) {
      if (await raw.conn.read(chunk) === null) return true;
    }
    return false;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ fuzz

/** Something the fuzzer sends, and whether it was built to be invalid. */
interface FuzzFrame {
  data: string | Uint8Array;
  kind: string;
  /** Built to be refused (a generator bug if the parser accepts it). */
  bad: boolean;
}

/** What the server must answer to a frame, per the protocol. */
type Expectation =
  | { kind: "error"; code: ErrorCode }
  | { kind: "limited"; type: "message"; clientId: string }
  /** `resume`/`history`: answered with a page, or refused `rate_limited` over the read budget. */
  | { kind: "limited"; type: "read" }
  /** No answer either way: `typing` and `ping` over budget are dropped without a word (and count toward a flood). */
  | { kind: "quiet" };

/**
 * The answer the protocol prescribes for `data` as the server receives it (a
 * WebSocket text frame carries UTF-8, so lone surrogates arrive as U+FFFD).
 */
function expectationOf(data: string | Uint8Array): Expectation {
  if (typeof data !== "string") {
    return { kind: "error", code: "binary_unsupported" };
  }
  const parsed = parseClientFrame(data.toWellFormed());
  if (!parsed.ok) return { kind: "error", code: parsed.code };
  switch (parsed.frame.type) {
    case "message":
      return {
        kind: "limited",
        type: "message",
        clientId: parsed.frame.clientId,
      };
    case "typing":
    case "ping":
      return { kind: "quiet" };
    case "resume":
    case "history":
      return { kind: "limited", type: "read" };
    case "edit":
    case "delete":
    case "react":
    case "moderate":
    case "report":
      // Answered by their target's state (tests/chat/events_socket_test.ts,
      // tests/chat/moderation_socket_test.ts), not generated here.
      throw new Error(`not modelled: ${parsed.frame.type}`);
  }
}

const SMILE = "\u{1F600}"; // 2 UTF-16 units, 4 UTF-8 bytes

/** A message frame whose UTF-8 size is exactly `bytes`, filled with 4-byte characters. */
function frameOfBytes(bytes: number, clientId: string): string {
  const shell = `{"type":"message","text":"","clientId":"${clientId}"}`;
  const room = bytes - encoder.encode(shell).length;
  const text = SMILE.repeat(Math.floor(room / 4)) + "a".repeat(room % 4);
  const frame = `{"type":"message","text":"${text}","clientId":"${clientId}"}`;
  assert.equal(encoder.encode(frame).length, bytes);
  return frame;
}

/** Texts that matter for Unicode handling; some valid, some not. */
const UNICODE_TEXTS: readonly string[] = [
  "\ud800", // lone high surrogate
  "\udfff", // lone low surrogate
  "a\ud83d\ude00\ud800b",
  "\u0000",
  "nul\u0000inside",
  "\u202egnp.exe", // right-to-left override
  "\u202e\u202d\u202a",
  "\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}", // ZWJ family
  "\u{1F3F3}\ufe0f\u200d\u{1F308}",
  "\ufeffbom",
  "line\u2028sep\u2029",
  "Z" + "\u0337\u0322\u031b\u0316\u031d".repeat(60),
  "\u{10FFFF}\u{E0001}",
  "\u0001\u0002\u0003\u007f\u0085", // only controls: empty after stripping
  "\r\n\r\n\t",
  SMILE.repeat(MAX_MESSAGE_CHARS / 2), // exactly the limit in UTF-16 units
  SMILE.repeat(MAX_MESSAGE_CHARS / 2) + "a", // one over
  "x".repeat(MAX_MESSAGE_CHARS - 1) + SMILE, // over by splitting a pair
];

/** Raw numeric literals (some not JSON at all) for seq and limit fields. */
const NUMBER_LITERALS: readonly string[] = [
  "1e400",
  "-1e400",
  "-0",
  "0",
  "1",
  "1.5",
  "-1",
  "100",
  "101",
  "9007199254740991",
  "9007199254740992",
  "1e21",
  "1e-400",
  "2e308",
  "0x10",
  "NaN",
  "Infinity",
  "-Infinity",
  '"NaN"',
  '"1"',
  "null",
  "true",
  "[]",
  "{}",
  "[1]",
  "00",
  "-",
  "1.",
  "1e",
  "4.0",
];

/** Values of the wrong type (or the right type, wrong value) for any field. */
const WRONG_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53,
  "",
  "x",
  " ",
  "message",
  "typing",
  "history",
  [],
  {},
  ["message"],
  { type: "message" },
  "x".repeat(70),
  "x".repeat(9_000),
  "id with spaces",
  "ünïcode",
];

/** Keys that are dangerous when code merges or indexes objects. */
const PROTO_FRAMES: readonly string[] = [
  '{"__proto__":{"type":"message","text":"proto","clientId":"p1"}}',
  '{"type":"message","__proto__":{"text":"proto","clientId":"p2"}}',
  '{"type":"__proto__"}',
  '{"type":"constructor"}',
  '{"type":"toString"}',
  '{"type":"hasOwnProperty"}',
  '{"type":"valueOf"}',
  '{"constructor":{"prototype":{"polluted":true}},"type":"resume","after":0}',
  '{"__proto__":{"polluted":true},"type":"history","before":5,"limit":5}',
  '{"type":"history","before":5,"limit":5,"__proto__":{"limit":1000}}',
  '{"type":"resume","__proto__":{"after":3}}',
  '{"type":"message","text":{"toString":"x"},"clientId":"p3"}',
  '{"type":"message","text":"x","clientId":{"__proto__":"y"}}',
  '{"type":{"__proto__":"message"}}',
];

/** Builds the fuzz corpus, one frame at a time, from a seeded PRNG. */
function fuzzer(rand: () => number) {
  let ids = 0;
  const int = (lo: number, hi: number) =>
    lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const clientId = () => `fz-${ids++}`;
  const texts = ["hi", "hello there", "a", "🙂", ...UNICODE_TEXTS.slice(0, 12)];
  const validFrame = (): Record<string, unknown> => {
    switch (int(0, 3)) {
      case 0:
        return { type: "message", text: pick(texts), clientId: clientId() };
      case 1:
        return { type: "typing" };
      case 2:
        return { type: "resume", after: int(0, 100) };
      default:
        return { type: "history", before: int(0, 100), limit: int(1, 100) };
    }
  };
  const randomText = (len: number) => {
    let s = "";
    for (let i = 0; i < len; i++) {
      const r = rand();
      s += String.fromCharCode(
        r < 0.35
          ? int(0x20, 0x7e)
          : r < 0.5
          ? pick([0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x3a, 0x2c, 0x5c])
          : r < 0.6
          ? int(0, 0x1f)
          : r < 0.7
          ? int(0x7f, 0x9f)
          : r < 0.8
          ? int(0xd800, 0xdfff) // surrogates, paired only by luck
          : int(0xa0, 0xfffd),
      );
    }
    return s;
  };
  const categories: [number, () => FuzzFrame][] = [
    [14, () => ({
      kind: "random text",
      data: randomText(int(0, 300)),
      bad: false,
    })],
    [5, () => {
      const bytes = new Uint8Array(int(0, 400));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(0, 255);
      return {
        kind: "random bytes as text",
        data: decoder.decode(bytes),
        bad: false,
      };
    }],
    [14, () => {
      const json = JSON.stringify(validFrame());
      return {
        kind: "truncated JSON",
        data: json.slice(0, int(0, json.length - 1)),
        bad: true,
      };
    }],
    [4, () => {
      const variants = [
        () => "[".repeat(10_000), // unclosed: not JSON
        () => "[".repeat(20_000) + "]".repeat(20_000), // too large
        () => "[".repeat(8_000) + "]".repeat(8_000), // deep but an array
        () => '{"a":'.repeat(2_500) + "1" + "}".repeat(2_500), // deep, no type
        () =>
          `{"type":"message","text":"deep","clientId":"${clientId()}","x":` +
          "[".repeat(7_000) + "]".repeat(7_000) + "}", // valid, deep extra
        () =>
          `{"type":"history","before":1,"limit":1,"x":${
            '{"y":'.repeat(2_000)
          }0${"}".repeat(2_000)}}`,
      ];
      return { kind: "deep nesting", data: pick(variants)(), bad: false };
    }],
    [10, () => {
      const lit = pick(NUMBER_LITERALS);
      const data = pick([
        `{"type":"resume","after":${lit}}`,
        `{"type":"history","before":${lit},"limit":10}`,
        `{"type":"history","before":10,"limit":${lit}}`,
        `{"type":"history","before":${lit}}`,
      ]);
      return { kind: "numbers", data, bad: false };
    }],
    [15, () => {
      const frame = validFrame();
      const keys = [...Object.keys(frame), "type", "text", "clientId"];
      const key = pick(keys);
      if (rand() < 0.15) delete frame[key];
      else frame[key] = pick(WRONG_VALUES);
      return { kind: "wrong types", data: JSON.stringify(frame), bad: false };
    }],
    [12, () => {
      const text = pick(UNICODE_TEXTS);
      const id = clientId();
      const data = pick([
        // JSON-escaped: lone surrogates reach the server as such.
        () => JSON.stringify({ type: "message", text, clientId: id }),
        // Raw in the frame: the WebSocket's UTF-8 turns them into U+FFFD.
        () => `{"type":"message","text":"${text}","clientId":"${id}"}`,
        () => JSON.stringify({ type: "message", text: "ok", clientId: text }),
        () => frameOfBytes(MAX_FRAME_BYTES, id),
        () => frameOfBytes(MAX_FRAME_BYTES + 1, id),
        () => frameOfBytes(MAX_FRAME_BYTES - 1, id),
        () => JSON.stringify({ type: text }),
      ])();
      return { kind: "unicode", data, bad: false };
    }],
    [5, () => {
      const bytes = new Uint8Array(rand() < 0.05 ? 20_000 : int(0, 200));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(0, 255);
      return { kind: "binary", data: bytes, bad: true };
    }],
    [3, () => {
      const data = pick([
        () => "x".repeat(MAX_FRAME_BYTES + 1),
        () => JSON.stringify({ type: "typing" }) + " ".repeat(MAX_FRAME_BYTES),
        () =>
          JSON.stringify({
            type: "message",
            text: "y".repeat(MAX_FRAME_BYTES),
            clientId: clientId(),
          }),
        () => "é".repeat(MAX_FRAME_BYTES / 2 + 1), // few UTF-16 units, too many bytes
        () => (rand() < 0.2 ? "z".repeat(MiB) : "z".repeat(64 * 1024)),
      ])();
      return { kind: "oversize", data, bad: true };
    }],
    [6, () => ({ kind: "proto keys", data: pick(PROTO_FRAMES), bad: false })],
    [12, () => ({
      kind: "valid",
      data: JSON.stringify(validFrame()),
      bad: false,
    })],
  ];
  const total = categories.reduce((n, [w]) => n + w, 0);
  return (): FuzzFrame => {
    let r = rand() * total;
    for (const [weight, make] of categories) {
      if ((r -= weight) < 0) return make();
    }
    return categories[0][1]();
  };
}

/** A frame that is refused synchronously, to mark a point in the answer stream. */
const BARRIER = '{"type":"fuzz-barrier"}';

/** Tally over the whole fuzz run. */
interface FuzzStats {
  sent: number;
  byKind: Record<string, number>;
  errorsByCode: Record<string, number>;
  badAnswered: number;
  badLostToClose: number;
  /** Messages (cookie|clientId) unanswered when a close cut their connection: stored or not. */
  unansweredAtClose: Set<string>;
  acceptedMessages: number;
  rejectedMessages: number;
  /** `resume`/`history` refused over the read budget. */
  rejectedReads: number;
  /** `typing`/`ping` frames sent: never answered, so neither accepted nor refused is known. */
  quietSent: number;
  histories: number;
  closes: Record<string, number>;
  failures: string[];
  /** clientIds of fuzz messages the server accepted. */
  accepted: Set<string>;
  /** The same, per sender: `clientId` is idempotent per user, so two users may share one. */
  acceptedPerUser: Set<string>;
}

/**
 * One fuzzing connection. The server answers a bad frame synchronously with
 * an `error`, and a rate-limited `message` synchronously with
 * `rate_limited` (`typing` and `ping` over budget are dropped silently); so the `error` frames arrive in the order the frames were
 * sent, and each is matched to its frame. A barrier after every frame that
 * may or may not be limited makes that matching exact.
 */
class FuzzConn {
  client!: TestClient;
  #queue: (Exclude<Expectation, { kind: "quiet" }> & {
    frame: number;
    barrier?: true;
  })[] = [];
  #historyExpected = 0;
  #historyGot = 0;
  #rateLimited = 0;
  /** `message` frames sent on this connection (each may be refused). */
  #limitable = 0;
  /** `typing`/`ping` frames sent on this connection (each may be dropped, and counted). */
  #quiet = 0;
  /** Invalid frames sent on this connection, barriers included (past their budget each counts). */
  #invalidSent = 0;
  #echoed = new Set<string>();
  #awaitingEcho = new Set<string>();
  #closed: CloseEvent | null = null;
  reconnects = 0;

  constructor(
    readonly server: TestServer,
    readonly room: string,
    readonly cookie: string,
    readonly stats: FuzzStats,
    readonly signal: Signal,
  ) {}

  async open(): Promise<void> {
    this.client = await connect(this.server, this.room, this.cookie);
    this.#queue = [];
    this.#historyExpected = this.#historyGot = 0;
    this.#rateLimited =
      this.#limitable =
      this.#quiet =
      this.#invalidSent =
        0;
    this.#awaitingEcho.clear();
    this.#closed = null;
    this.client.socket.addEventListener("message", (e) => {
      this.#onFrame(JSON.parse(e.data) as ServerFrame);
      this.signal.notify();
    });
    this.client.closed.then((e) => {
      this.#closed = e;
      this.signal.notify();
    });
    await this.client.nextOf("welcome");
  }

  #fail(message: string): void {
    if (this.stats.failures.length < 50) this.stats.failures.push(message);
  }

  #onFrame(frame: ServerFrame): void {
    if (frame.type === "history") this.#historyGot++;
    if (frame.type === "message") {
      const id = frame.message.clientId;
      this.#echoed.add(id);
      this.#awaitingEcho.delete(id);
    }
    if (frame.type !== "error") return;
    const { code } = frame;
    this.stats.errorsByCode[code] = (this.stats.errorsByCode[code] ?? 0) + 1;
    if (code === "rate_limited") {
      this.#rateLimited++;
      if (
        typeof frame.retryAfter !== "number" || !(frame.retryAfter > 0) ||
        frame.retryAfter > 60_000
      ) {
        this.#fail(
          `rate_limited without a sane retryAfter: ${frame.retryAfter}`,
        );
      }
    }
    for (;;) {
      const head = this.#queue.shift();
      if (!head) {
        this.#fail(`unexpected error frame ${code}: ${frame.message}`);
        return;
      }
      if (head.kind === "limited") {
        if (code === "rate_limited") {
          if (head.type === "message") this.stats.rejectedMessages++;
          else this.stats.rejectedReads++;
          return;
        }
        this.#accept(head);
        continue;
      }
      if (code !== head.code) {
        this.#fail(`frame ${head.frame}: expected ${head.code}, got ${code}`);
      } else {
        this.stats.badAnswered++;
      }
      return;
    }
  }

  #accept(
    head: { type: "message"; clientId: string } | { type: "read" },
  ): void {
    if (head.type === "read") {
      this.#historyExpected++;
      return;
    }
    this.stats.acceptedMessages++;
    this.stats.accepted.add(head.clientId);
    this.stats.acceptedPerUser.add(`${this.cookie}|${head.clientId}`);
    if (!this.#echoed.has(head.clientId)) {
      this.#awaitingEcho.add(head.clientId);
    }
  }

  send(frame: FuzzFrame, index: number): void {
    const expected = expectationOf(frame.data);
    if (frame.bad && expected.kind !== "error") {
      this.#fail(`frame ${index} (${frame.kind}) was built bad but parses`);
    }
    if (this.#closed) return; // the caller reconnects before the next chunk
    this.client.socket.send(frame.data);
    if (expected.kind === "quiet") {
      this.#quiet++;
      this.stats.quietSent++;
      return;
    }
    this.#queue.push({ ...expected, frame: index });
    if (expected.kind === "error") this.#invalidSent++;
    if (expected.kind === "limited") {
      this.#limitable++;
      this.#invalidSent++; // the barrier
      this.client.socket.send(BARRIER);
      this.#queue.push({
        kind: "error",
        code: "unknown_type",
        frame: index,
        barrier: true,
      });
    }
  }

  /** Every frame sent so far is answered, or the socket was closed. */
  get settled(): boolean {
    return this.#closed !== null ||
      (this.#queue.length === 0 &&
        this.#historyGot === this.#historyExpected &&
        this.#awaitingEcho.size === 0);
  }

  describe(): string {
    return `queue ${this.#queue.length} (head ${
      JSON.stringify(this.#queue[0])
    }), history ${this.#historyGot}/${this.#historyExpected}, awaiting echo ${this.#awaitingEcho.size}`;
  }

  /** After a chunk: if the server closed us, check the close was the documented one and reconnect. */
  async afterChunk(): Promise<void> {
    if (!this.#closed) return;
    const { code, reason, wasClean } = this.#closed;
    const key = wasClean ? `${code} ${reason}` : `${code} (not clean)`;
    this.stats.closes[key] = (this.stats.closes[key] ?? 0) + 1;
    // The flood close (4029) is the only close the server makes here, and only
    // after more than MAX_RATE_VIOLATIONS refused frames. A client still
    // sending when it comes does not see it: Deno drops the connection when
    // data frames follow its close frame (and the last frames it sent before
    // may be lost with it), so an unclean close is accepted as long as this
    // connection had sent enough limitable frames to have been flood-closed.
    const documented = wasClean
      ? code === CloseCode.rateLimited &&
        this.#rateLimited + this.#quiet + this.#invalidSent >=
          MAX_RATE_VIOLATIONS
      : this.#limitable + this.#quiet + this.#invalidSent >
        MAX_RATE_VIOLATIONS;
    if (!documented) {
      this.#fail(
        `closed ${code} "${reason}" (clean: ${wasClean}) after ${this.#rateLimited} rate_limited errors, ${this.#limitable} limitable frames`,
      );
    }
    // Frames in flight at the close are answered by the close itself.
    // A message still unanswered when an unclean close cut the connection
    // may have been stored before it: its answer was lost with the reset.
    for (const q of this.#queue) {
      if (q.kind === "limited" && q.type === "message") {
        this.stats.unansweredAtClose.add(`${this.cookie}|${q.clientId}`);
      }
    }
    this.stats.badLostToClose +=
      this.#queue.filter((q) => q.kind === "error" && !q.barrier).length;
    this.reconnects++;
    await this.open();
  }
}

Deno.test("fuzz: 10,000 hostile frames; the server answers each, stays up, and a bystander loses nothing", async () => {
  const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 0x2ee0_c0de);
  const FRAMES = 10_000;
  const SOCKETS = 4;
  const PACE_EVERY = 100;
  const PACERS = 5;
  console.log(`fuzz seed: ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const rand = prng(SEED);
  const next = fuzzer(rand);
  const room = "fuzz";
  const server = await startServer();
  const started = performance.now();
  const open: TestClient[] = [];
  try {
    const signal = new Signal();
    const stats: FuzzStats = {
      sent: 0,
      byKind: {},
      errorsByCode: {},
      badAnswered: 0,
      badLostToClose: 0,
      unansweredAtClose: new Set(),
      acceptedMessages: 0,
      rejectedMessages: 0,
      rejectedReads: 0,
      quietSent: 0,
      histories: 0,
      closes: {},
      failures: [],
      accepted: new Set(),
      acceptedPerUser: new Set(),
    };
    // The bystander only reads; the pacers each post within their burst.
    const observer = await connect(
      server,
      room,
      (await server.guest("Observer")).cookie,
    );
    open.push(observer);
    await observer.nextOf("welcome");
    const seen = new Map<number, ChatMessage>();
    observer.socket.addEventListener("message", (e) => {
      const frame = JSON.parse(e.data) as ServerFrame;
      if (frame.type === "message") seen.set(frame.message.seq, frame.message);
      signal.notify();
    });
    const pacers: TestClient[] = [];
    for (let i = 0; i < PACERS; i++) {
      const c = await connect(
        server,
        room,
        (await server.guest(`Pacer ${i}`)).cookie,
      );
      await c.nextOf("welcome");
      pacers.push(c);
      open.push(c);
    }
    const fuzzers: FuzzConn[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const f = new FuzzConn(
        server,
        room,
        (await server.guest(`Fuzzer ${i}`)).cookie,
        stats,
        signal,
      );
      await f.open();
      fuzzers.push(f);
    }
    const heapBefore = liveHeapMiB();
    const baseline = rssMiB();
    let peak = baseline;
    const paced: string[] = [];

    for (let chunk = 0; chunk * PACE_EVERY < FRAMES; chunk++) {
      for (let j = 0; j < PACE_EVERY; j++) {
        const index = chunk * PACE_EVERY + j;
        const frame = next();
        stats.sent++;
        stats.byKind[frame.kind] = (stats.byKind[frame.kind] ?? 0) + 1;
        fuzzers[index % SOCKETS].send(frame, index);
      }
      const clientId = `pace-${chunk}`;
      paced.push(clientId);
      pacers[chunk % PACERS].send({
        type: "message",
        text: `normal message ${chunk}`,
        clientId,
      });
      await signal.until(
        () => fuzzers.every((f) => f.settled),
        () =>
          `chunk ${chunk}: ${
            fuzzers.map((f) => f.describe()).join(" | ")
          }; failures: ${stats.failures.join("; ")}`,
      );
      for (const f of fuzzers) await f.afterChunk();
      // The harness lives in this process too: keep its own copies of frames
      // (already tallied) from counting as server memory.
      for (const c of [observer, ...fuzzers.map((f) => f.client)]) {
        c.frames.length = 0;
      }
      peak = Math.max(peak, rssMiB());
    }
    const fuzzMs = performance.now() - started;

    // Every pacer message was stored and broadcast, none refused.
    for (const p of pacers) {
      assert.ok(
        !p.frames.some((f) => f.type === "error"),
        "a pacer was refused",
      );
    }
    // The bystander has every message the room stored: nothing lost, nothing extra.
    const lastSeq = await server.services.store.lastSeq(room);
    await signal.until(
      () => seen.size >= lastSeq,
      () => `observer has ${seen.size} of ${lastSeq} messages`,
    );
    const stored = await storedMessages(server, room);
    assert.equal(stored.length, lastSeq);
    assert.deepEqual(
      [...seen.keys()].sort((a, b) => a - b),
      stored.map((m) => m.seq),
      "the bystander saw exactly the stored messages",
    );
    assert.deepEqual(
      stored.map((m) => m.seq),
      Array.from({ length: lastSeq }, (_, i) => i + 1),
      "gapless seqs",
    );
    for (const m of stored) {
      assert.deepEqual(seen.get(m.seq), m, `seq ${m.seq} as stored`);
    }
    const storedIds = new Set(stored.map((m) => m.clientId));
    for (const id of paced) assert.ok(storedIds.has(id), `${id} delivered`);
    for (const id of stats.accepted) {
      assert.ok(storedIds.has(id), `accepted fuzz message ${id} stored`);
    }
    const maybe = [...stats.unansweredAtClose].filter((id) =>
      !stats.acceptedPerUser.has(id)
    ).length;
    assert.ok(
      stored.length >= paced.length + stats.acceptedPerUser.size &&
        stored.length <= paced.length + stats.acceptedPerUser.size + maybe,
      `only paced and accepted fuzz messages were stored (and at most the ${maybe} cut off by a close): ${stored.length} stored, ${paced.length} paced, ${stats.acceptedPerUser.size} accepted`,
    );
    // Stored text is normalized: no bidi override, no C0/C1 control but \n and \t.
    // deno-lint-ignore no-control-regex
    const forbidden = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
    for (const m of stored) {
      assert.doesNotMatch(m.text, forbidden);
      assert.ok(m.text.length > 0 && m.text.length <= MAX_MESSAGE_CHARS);
    }

    assert.deepEqual(stats.failures, [], "protocol failures");
    // Every frame built bad was answered with its error, or fell to a documented close.
    assert.equal(stats.sent, FRAMES);
    // Nothing leaked into Object.prototype from `__proto__`/`constructor` keys.
    assert.equal(
      (Object.prototype as Record<string, unknown>).polluted,
      undefined,
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);

    // The server is still up and serving: a new client chats normally.
    const health = await fetch(`${server.origin}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const late = await connect(
      server,
      room,
      (await server.guest("Late")).cookie,
    );
    open.push(late);
    await late.nextOf("welcome");
    late.send({ type: "message", text: "after the storm", clientId: "late-1" });
    assert.equal(
      (await late.nextOf("message")).message.text,
      "after the storm",
    );

    const heapAfter = liveHeapMiB();
    console.log(
      JSON.stringify(
        {
          seed: SEED,
          frames: stats.sent,
          ms: Math.round(fuzzMs),
          byKind: stats.byKind,
          errorsByCode: stats.errorsByCode,
          badAnswered: stats.badAnswered,
          badLostToClose: stats.badLostToClose,
          unansweredAtClose: stats.unansweredAtClose.size,
          acceptedMessages: stats.acceptedMessages,
          rejectedMessages: stats.rejectedMessages,
          rejectedReads: stats.rejectedReads,
          quietSent: stats.quietSent,
          closes: stats.closes,
          reconnects: fuzzers.map((f) =>
            f.reconnects
          ),
          stored: stored.length,
          rssMiB: {
            baseline: Math.round(baseline),
            peak: Math.round(peak),
            end: Math.round(rssMiB()),
          },
          liveHeapMiB: {
            before: +heapBefore.toFixed(1),
            after: +heapAfter.toFixed(1),
          },
        },
      ),
    );
    // RSS is reported, not asserted: `deno test --parallel` runs other test
    // modules in this same process, so its RSS is not this test's alone. The
    // live heap of this isolate, after a forced GC, is.
    assert.ok(
      heapAfter - heapBefore < 32,
      `live heap grew ${(heapAfter - heapBefore).toFixed(1)} MiB`,
    );
    for (const f of fuzzers) open.push(f.client);
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

// ----------------------------------------------------------------- flood

/**
 * The first frame at or after index `from` of `client.frames` that matches
 * `test`, or the close event if the socket closes first; fails after 5 s.
 */
function frameAfter(
  client: TestClient,
  from: number,
  test: (f: ServerFrame) => boolean,
): Promise<ServerFrame | CloseEvent> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = client.frames.slice(from).find(test);
      if (!found) return false;
      done();
      resolve(found);
      return true;
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("no answer within 5 s"));
    }, 5_000);
    const onClose = (e: CloseEvent) => {
      if (check()) return;
      done();
      resolve(e);
    };
    const done = () => {
      clearTimeout(timer);
      client.socket.removeEventListener("message", check);
      client.socket.removeEventListener("close", onClose);
    };
    client.socket.addEventListener("message", check);
    client.socket.addEventListener("close", onClose);
    check();
  });
}

/** Sends a message and waits for its answer: its echo, an error, or the close. */
function answerTo(
  client: TestClient,
  clientId: string,
): Promise<ServerFrame | CloseEvent> {
  const from = client.frames.length;
  client.send({ type: "message", text: clientId, clientId });
  return frameAfter(
    client,
    from,
    (f) =>
      f.type === "error" ||
      (f.type === "message" && f.message.clientId === clientId),
  );
}

Deno.test("flood: past the burst each message gets rate_limited with retryAfter, then the socket is closed as flooding (4029, not a sign-out)", async () => {
  const server = await startServer(); // default limits: burst 20, 2 per second
  const room = "flood-step";
  const open: TestClient[] = [];
  try {
    const flooder = await connect(
      server,
      room,
      (await server.guest("Flooder")).cookie,
    );
    const bystander = await connect(
      server,
      room,
      (await server.guest("Bystander")).cookie,
    );
    open.push(flooder, bystander);
    await flooder.nextOf("welcome");
    await bystander.nextOf("welcome");
    // One frame at a time: each answered before the next, as fast as that goes.
    let accepted = 0;
    let limited = 0;
    let close: CloseEvent | null = null;
    for (let i = 0; i < 200 && !close; i++) {
      const answer = await answerTo(flooder, `step-${i}`);
      if (answer instanceof CloseEvent) close = answer;
      else if (answer.type === "message") {
        assert.equal(limited, 0, "accepted after the limit was reached");
        accepted++;
      } else {
        assert.equal(answer.type, "error");
        if (answer.type !== "error") continue;
        assert.equal(answer.code, "rate_limited");
        assert.equal(typeof answer.retryAfter, "number");
        assert.ok(
          answer.retryAfter! > 0 &&
            answer.retryAfter! <= 1000 / MESSAGE_RATE_PER_S,
          `retryAfter ${answer.retryAfter}`,
        );
        limited++;
      }
    }
    assert.ok(close, "closed");
    assert.equal(close.code, CloseCode.rateLimited);
    assert.equal(close.reason, "rate limit exceeded");
    assert.ok(close.wasClean);
    assert.equal(limited, MAX_RATE_VIOLATIONS);
    // The burst, plus a token or two if the clock moved on meanwhile.
    assert.ok(
      accepted >= MESSAGE_BURST && accepted <= MESSAGE_BURST + 2,
      `accepted ${accepted}`,
    );

    // The bystander got every accepted message and still talks.
    bystander.send({ type: "message", text: "still fine", clientId: "b-1" });
    await bystander.next((f) =>
      f.type === "message" && f.message.clientId === "b-1"
    );
    const seen = bystander.frames.flatMap((f) =>
      f.type === "message" ? [f.message.clientId] : []
    );
    assert.deepEqual(seen, [
      ...Array.from({ length: accepted }, (_, i) => `step-${i}`),
      "b-1",
    ]);
    assert.equal((await storedMessages(server, room)).length, accepted + 1);
    await eventually(
      () => server.services.connections.size === 1,
      () => `registry has ${server.services.connections.size}`,
    );
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

Deno.test("flood: a pipelined flood is refused and dropped; another client in the room is unaffected", async () => {
  const server = await startServer(); // default limits: burst 20, 2 per second
  const room = "flood";
  const open: TestClient[] = [];
  try {
    const flooder = await connect(
      server,
      room,
      (await server.guest("Flooder")).cookie,
    );
    const bystander = await connect(
      server,
      room,
      (await server.guest("Bystander")).cookie,
    );
    open.push(flooder, bystander);
    await flooder.nextOf("welcome");
    await bystander.nextOf("welcome");

    const FLOOD = 200;
    const calm: string[] = [];
    for (let i = 0; i < FLOOD; i++) {
      flooder.send({ type: "message", text: `flood ${i}`, clientId: `f-${i}` });
      // The bystander talks in the middle of the flood, within its own limit.
      if (i % 40 === 0) {
        calm.push(`calm-${i}`);
        bystander.send({
          type: "message",
          text: `calm ${i}`,
          clientId: `calm-${i}`,
        });
      }
    }
    const closed = await flooder.closed;
    // 4029, or (because Deno abandons the close handshake when data frames
    // follow its close frame, as they do in a flood) an abnormal close.
    assert.ok(
      closed.code === CloseCode.rateLimited || !closed.wasClean,
      `closed ${closed.code} ${closed.reason}`,
    );
    const errors = flooder.frames.filter((f) => f.type === "error");
    assert.ok(errors.length <= MAX_RATE_VIOLATIONS, `${errors.length} errors`);
    for (const e of errors) {
      assert.equal(e.code, "rate_limited");
      assert.ok(
        typeof e.retryAfter === "number" && e.retryAfter > 0 &&
          e.retryAfter <= 1000 / MESSAGE_RATE_PER_S,
        `retryAfter ${e.retryAfter}`,
      );
    }

    // The flood's admitted posts pass the room's checks one at a time
    // (PostOrder) and may still be on their way to the store: once none is
    // waiting, each has been handed to the store, before anything below.
    await eventually(
      () => server.services.postOrder.size === 0,
      () => `${server.services.postOrder.size} posts still being admitted`,
    );
    // After the flooder is gone the bystander still chats.
    const after = [0, 1, 2, 3, 4].map((i) => `after-${i}`);
    for (const id of after) {
      bystander.send({ type: "message", text: id, clientId: id });
    }
    await bystander.next((f) =>
      f.type === "message" && f.message.clientId === "after-4"
    );
    // Only the burst of the flood was stored; the bystander saw all of it, in order.
    const stored = await storedMessages(server, room);
    const flooded = stored.filter((m) => m.clientId.startsWith("f-"));
    assert.ok(
      flooded.length >= MESSAGE_BURST && flooded.length <= MESSAGE_BURST + 2,
      `stored ${flooded.length} flood messages`,
    );
    assert.equal(stored.length, flooded.length + calm.length + after.length);
    const seen = bystander.frames.flatMap((f) =>
      f.type === "message" ? [f.message.seq] : []
    );
    assert.deepEqual(seen, stored.map((m) => m.seq));
    assert.ok(!bystander.frames.some((f) => f.type === "error"));
    assert.equal(bystander.socket.readyState, WebSocket.OPEN);
    await eventually(
      () => server.services.connections.size === 1,
      () => `registry has ${server.services.connections.size}`,
    );
    assert.equal(server.services.layer.localMembers(room), 1);
    console.log(
      JSON.stringify({
        pipelinedFlood: {
          close: `${closed.code} clean=${closed.wasClean}`,
          rateLimitedSeen: errors.length,
          stored: flooded.length,
        },
      }),
    );
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

Deno.test("flood: typing past its limit is dropped without a warning, a flood of it is closed 4029; others see only the burst", async () => {
  const server = await startServer();
  const room = "typing-flood";
  const open: TestClient[] = [];
  try {
    const typist = await connect(
      server,
      room,
      (await server.guest("Typist")).cookie,
    );
    const watcher = await connect(
      server,
      room,
      (await server.guest("Watcher")).cookie,
    );
    open.push(typist, watcher);
    await typist.nextOf("welcome");
    await watcher.nextOf("welcome");
    // All at once, so the bucket cannot refill in between: the burst is
    // relayed, the rest dropped without a word, and the one past
    // MAX_RATE_VIOLATIONS closes the socket. Nothing is sent after it.
    const from = typist.frames.length;
    for (let i = 0; i < TYPING_BURST + MAX_RATE_VIOLATIONS + 1; i++) {
      typist.send({ type: "typing" });
    }
    const closed = await typist.closed;
    assert.equal(closed.code, CloseCode.rateLimited);
    assert.ok(closed.wasClean);
    assert.deepEqual(
      typist.frames.slice(from).filter((f) => f.type === "error"),
      [],
      "typing is never answered with a warning",
    );
    watcher.send({ type: "message", text: "still here", clientId: "w-1" });
    await watcher.next((f) => f.type === "message");
    const typing = watcher.frames.filter((f) => f.type === "typing").length;
    assert.ok(
      typing >= TYPING_BURST && typing <= TYPING_BURST + 2,
      `typing ${typing}`,
    );
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

// ----------------------------------------------------------- slow reader

Deno.test("slow reader: a socket that stops reading is cut off (1013) and the room keeps flowing", async () => {
  // Unlimited posting so two senders can fill a socket quickly.
  const server = await startServer({
    RATE_LIMIT_BURST: "100000",
    RATE_LIMIT_PER_SECOND: "100000",
  });
  const room = "busy";
  const open: TestClient[] = [];
  let raw: RawSocket | null = null;
  const started = performance.now();
  try {
    const signal = new Signal();
    const senders: TestClient[] = [];
    for (const name of ["Sender A", "Sender B"]) {
      const c = await connect(server, room, (await server.guest(name)).cookie);
      await c.nextOf("welcome");
      senders.push(c);
      open.push(c);
    }
    const reader = await connect(
      server,
      room,
      (await server.guest("Reader")).cookie,
    );
    open.push(reader);
    await reader.nextOf("welcome");
    const readerSeqs: number[] = [];
    const echoes = new Set<string>();
    reader.socket.addEventListener("message", (e) => {
      const f = JSON.parse(e.data) as ServerFrame;
      if (f.type === "message") readerSeqs.push(f.message.seq);
      signal.notify();
    });
    for (const s of senders) {
      s.socket.addEventListener("message", (e) => {
        const f = JSON.parse(e.data) as ServerFrame;
        if (f.type === "message") echoes.add(f.message.clientId);
        signal.notify();
      });
    }

    const slow = await server.guest("Slow");
    raw = await openRawSocket(server.wsUrl(room), {
      cookie: slow.cookie,
      origin: server.origin,
    });
    assert.equal(raw.status, 101);
    await eventually(
      () => server.services.connections.size === 4,
      () => `registry ${server.services.connections.size}`,
    );
    assert.equal(server.services.layer.localMembers(room), 4);

    // Near-limit messages, 50 at a time, until the server lets the slow reader go.
    const text = "w".repeat(MAX_MESSAGE_CHARS - 10);
    const BATCH = 50;
    const MAX_MESSAGES = 8_000; // ~32 MB: far past the kernel's buffers and the 1 MiB bound
    let sent = 0;
    let cutAt = -1;
    const cut = () => server.services.connections.size === 3;
    while (sent < MAX_MESSAGES && performance.now() - started < 20_000) {
      const ids: string[] = [];
      for (let i = 0; i < BATCH; i++, sent++) {
        const clientId = `big-${sent}`;
        ids.push(clientId);
        senders[sent % 2].send({ type: "message", text, clientId });
      }
      await signal.until(
        () => ids.every((id) => echoes.has(id)),
        () => `echoes for batch ending ${sent}`,
      );
      if (cut()) {
        cutAt = sent;
        break;
      }
    }
    const cutMs = performance.now() - started;
    assert.ok(cutAt > 0, `still connected after ${sent} messages`);
    assert.equal(server.services.layer.localMembers(room), 3);

    // The room keeps going after the cut: 100 more, all delivered.
    for (let i = 0; i < 100; i++, sent++) {
      senders[sent % 2].send({
        type: "message",
        text: `after ${i}`,
        clientId: `big-${sent}`,
      });
    }
    // Each sender's own copy may land a moment after the reader's: wait for both.
    await signal.until(
      () => readerSeqs.length === sent && echoes.size === sent,
      () => `reader has ${readerSeqs.length}, echoes ${echoes.size} of ${sent}`,
    );
    assert.deepEqual(
      readerSeqs,
      Array.from({ length: sent }, (_, i) => i + 1),
      "the reader got every message, in order, without gaps",
    );
    for (let i = 0; i < sent; i++) assert.ok(echoes.has(`big-${i}`));

    // Now the slow client reads: what it was sent, then a 1013 close frame.
    const drained = await drainUntilClose(raw, 200 * MiB, 10_000);
    assert.equal(drained.closeCode, CloseCode.tryAgain);
    const frames = drained.textFrames.map((t) => JSON.parse(t) as ServerFrame);
    assert.equal(frames[0]?.type, "welcome");
    const got = frames.flatMap((f) =>
      f.type === "message" ? [f.message.seq] : []
    );
    // What reached it is an unbroken prefix: it can resume from its last seq.
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i + 1));
    assert.ok(got.length < cutAt, "the cut happened before it had everything");
    // It answers the close; the server ends the connection.
    await rawCloseReply(raw, CloseCode.tryAgain);
    assert.ok(await eof(raw, 5_000), "server closed the TCP connection");
    console.log(
      JSON.stringify({
        slowReader: {
          cutAfterMessages: cutAt,
          cutAfterMiB: +(cutAt * text.length / MiB).toFixed(1),
          cutMs: Math.round(cutMs),
          boundMiB: MAX_BUFFERED_BYTES / MiB,
          deliveredToSlowBeforeCut: got.length,
          drainedMiB: +(drained.bytes / MiB).toFixed(1),
          totalMs: Math.round(performance.now() - started),
        },
      }),
    );
  } finally {
    try {
      raw?.conn.close();
    } catch { /* closed already */ }
    await Promise.all(open.map((c) => c.close()));
    await server.close();
  }
});

// ----------------------------------------------------------------- churn

Deno.test("churn: 5,000 connects and disconnects leave no group, member, connection or presence behind", async () => {
  const server = await startServer();
  const CYCLES = 5_000;
  const CONCURRENCY = 50;
  const ROOMS = ["churn-0", "churn-1", "churn-2", "churn-3", "churn-4"];
  const started = performance.now();
  try {
    const guests: string[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      guests.push((await server.guest(`Churn ${i}`)).cookie);
    }
    const heapBefore = liveHeapMiB();
    const baseline = rssMiB();
    let peak = baseline;
    const outcomes: Record<string, number> = {};
    const count = (k: string) => outcomes[k] = (outcomes[k] ?? 0) + 1;

    /** One connect/disconnect cycle, in one of four shapes. */
    const cycle = async (i: number, cookie: string) => {
      const room = ROOMS[i % ROOMS.length];
      switch (i % 4) {
        case 0: { // clean: welcome, then close
          const c = await connect(server, room, cookie);
          await c.nextOf("welcome");
          await c.close();
          count("clean");
          return;
        }
        case 1: { // closes before the server has finished joining
          const c = await connect(server, room, cookie);
          await c.close();
          count("early close");
          return;
        }
        case 2: { // a request, its answer, then close
          const c = await connect(server, room, cookie);
          await c.nextOf("welcome");
          c.send({ type: "resume", after: 0 });
          await c.nextOf("history");
          await c.close();
          count("resume");
          return;
        }
        default: { // TCP dropped without a close frame
          const raw = await openRawSocket(server.wsUrl(room), {
            cookie,
            origin: server.origin,
          });
          assert.equal(raw.status, 101);
          raw.conn.close();
          count("abrupt");
          return;
        }
      }
    };

    let nextCycle = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        for (;;) {
          const i = nextCycle++;
          if (i >= CYCLES) return;
          await cycle(i, guests[worker]);
          if (i % 500 === 0) peak = Math.max(peak, rssMiB());
        }
      }),
    );
    const cyclesMs = performance.now() - started;
    peak = Math.max(peak, rssMiB());

    const { connections, layer, presence } = server.services;
    await connections.drained(10_000);
    await eventually(
      () =>
        connections.size === 0 && layer.localGroups() === 0 &&
        presence.localRooms === 0,
      () =>
        `connections ${connections.size}, groups ${layer.localGroups()}, presence rooms ${presence.localRooms}`,
    );
    assert.equal(connections.size, 0);
    assert.equal(layer.localGroups(), 0);
    for (const room of ROOMS) assert.equal(layer.localMembers(room), 0);
    assert.equal(presence.localRooms, 0);
    // Budgets are keyed by person, not socket: bounded however many come and go.
    const { budgets } = server.services;
    assert.ok(budgets.messages.size <= budgets.messages.maxKeys);
    assert.ok(budgets.reads.size <= budgets.reads.maxKeys);
    // The lobby agrees: nobody online anywhere.
    const online = await presence.onlineByRoom();
    assert.equal([...online.values()].reduce((a, b) => a + b, 0), 0);

    // Still serving.
    const c = await connect(server, "churn-0", guests[0]);
    await c.nextOf("welcome");
    await c.close();

    const heapAfter = liveHeapMiB();
    const end = rssMiB();
    console.log(
      JSON.stringify({
        churn: {
          cycles: CYCLES,
          concurrency: CONCURRENCY,
          outcomes,
          ms: Math.round(cyclesMs),
          rssMiB: {
            baseline: Math.round(baseline),
            peak: Math.round(peak),
            end: Math.round(end),
          },
          liveHeapMiB: {
            before: +heapBefore.toFixed(1),
            after: +heapAfter.toFixed(1),
          },
        },
      }),
    );
    assert.equal(
      Object.values(outcomes).reduce((a, b) => a + b, 0),
      CYCLES,
    );
    assert.ok(cyclesMs < 60_000, `churn took ${cyclesMs} ms`);
    assert.ok(
      heapAfter - heapBefore < 24,
      `live heap ${(heapAfter - heapBefore).toFixed(1)} MiB over baseline`,
    );
    // RSS is reported above, not asserted: under `deno test --parallel` other
    // test modules share this process. The isolate's live heap is asserted.
  } finally {
    await server.close();
  }
});

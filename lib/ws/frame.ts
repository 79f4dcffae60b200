/**
 * The WebSocket wire format (RFC 6455) for the server side, pure: an
 * incremental reader of client frames that enforces a message size limit
 * from the frame header — before a payload byte is buffered — and encoders
 * for server frames. No extensions (no permessage-deflate), so RSV bits are
 * an error.
 *
 * @module
 */

/** Frame opcodes. */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes the reader fails a connection with. */
export const FailCode = {
  /** Protocol error: unmasked frame, RSV bits, bad fragmentation, bad control frame. */
  protocol: 1002,
  /** Text that is not UTF-8. */
  invalidData: 1007,
  /** A message larger than the limit (the same as `CloseCode.tooBig`). */
  tooBig: 1009,
} as const;

/** What the reader found in the bytes it was given. */
export type FrameEvent =
  | { kind: "text"; data: string }
  | { kind: "binary"; data: Uint8Array }
  | { kind: "ping"; data: Uint8Array }
  | { kind: "pong" }
  /** The peer's close frame; `code` 1005 when it carried none. */
  | { kind: "close"; code: number; reason: string }
  /**
   * The connection must fail with `code`. For `tooBig`, `bytes` is the size
   * the peer announced (the message so far plus this frame), never read.
   */
  | { kind: "fail"; code: number; reason: string; bytes?: number };

/** Longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
const MAX_HEADER_BYTES = 14;
/** Control frames carry at most this much (RFC 6455 §5.5). */
const MAX_CONTROL_PAYLOAD = 125;
/**
 * Frames one message may come in. Browsers and Deno send a message whole;
 * each fragment held costs memory beyond its bytes (an empty one ~370 bytes
 * of heap), so without a count a peer grew the heap to 7.4 GiB with 20 M
 * empty fragments (114 MiB sent) and the process died. A message in more
 * is refused as too big (1009).
 */
export const MAX_FRAGMENTS = 64;

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The reader's state: reading a header, or the payload of the frame it announced. */
type ReadState =
  | { phase: "header" }
  | {
    phase: "payload";
    opcode: number;
    fin: boolean;
    /** The 4 mask bytes, big-endian in one number (no array per frame). */
    mask: number;
    payload: Uint8Array;
    filled: number;
  }
  | { phase: "failed" };

/** The header state, one object for every reader (it carries nothing). */
const READING_HEADER: ReadState = { phase: "header" };

/**
 * Reads client frames from a byte stream, chunk by chunk. A data message may
 * be fragmented; the fragments are kept until the last one, and the whole
 * message may not exceed `maxMessageBytes`: the check runs on each frame's
 * announced length, so an oversize message fails with 1009 before any of its
 * payload is kept. After a `fail` event the reader ignores all further input.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(64 * 1024);
 * for (const event of reader.push(chunk)) {
 *   if (event.kind === "text") handle(event.data);
 *   else if (event.kind === "fail") closeWith(event.code);
 * }
 * ```
 */
export class FrameReader {
  /**
   * A header split across chunks, gathered here; allocated only then (most
   * headers arrive whole and are read in place), so an idle socket's reader
   * holds no buffer.
   */
  #header: Uint8Array | null = null;
  #headerLength = 0;
  #state: ReadState = READING_HEADER;
  /** Fragments of the data message in progress (its opcode is `#messageOpcode`). */
  #fragments: Uint8Array[] = [];
  #messageBytes = 0;
  #messageOpcode = 0;

  constructor(readonly maxMessageBytes: number) {}

  /** True once a `fail` event was returned. */
  get failed(): boolean {
    return this.#state.phase === "failed";
  }

  /** Bytes this reader holds for a message or frame not yet complete. */
  get heldBytes(): number {
    const state = this.#state;
    return this.#messageBytes + this.#headerLength +
      (state.phase === "payload" ? state.filled : 0);
  }

  /** Consumes `chunk`; returns the events it completes, in order. */
  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let offset = 0;
    while (offset < chunk.length || this.#zeroLengthPayloadReady()) {
      const state = this.#state;
      if (state.phase === "failed") break;
      if (state.phase === "header") {
        offset = this.#readHeader(chunk, offset, events);
        continue;
      }
      const take = Math.min(
        state.payload.length - state.filled,
        chunk.length - offset,
      );
      unmaskInto(
        state.payload,
        state.filled,
        chunk.subarray(offset, offset + take),
        state.mask,
      );
      state.filled += take;
      offset += take;
      if (state.filled === state.payload.length) {
        this.#state = READING_HEADER;
        this.#frameDone(state.opcode, state.fin, state.payload, events);
      }
    }
    return events;
  }

  #zeroLengthPayloadReady(): boolean {
    const state = this.#state;
    return state.phase === "payload" && state.payload.length === 0;
  }

  /**
   * Reads a header: in place when the chunk holds all of it, else gathered
   * across chunks; once whole, validates it and moves to its payload.
   */
  #readHeader(chunk: Uint8Array, offset: number, events: FrameEvent[]): number {
    if (this.#headerLength === 0 && chunk.length - offset >= 2) {
      const needed = headerBytes(chunk[offset + 1]);
      if (chunk.length - offset >= needed || !masked(chunk[offset + 1])) {
        return this.#parseHeader(chunk, offset, offset + needed, events);
      }
    }
    const header = this.#header ??= new Uint8Array(MAX_HEADER_BYTES);
    // Two bytes tell how long the header is.
    while (this.#headerLength < 2 && offset < chunk.length) {
      header[this.#headerLength++] = chunk[offset++];
    }
    if (this.#headerLength < 2) return offset;
    // Checked on the first two bytes: an unmasked frame has a shorter header.
    if (!masked(header[1]) || (header[0] & 0x70) !== 0) {
      this.#dropHeader();
      return this.#parseHeader(header, 0, offset, events);
    }
    const needed = headerBytes(header[1]);
    while (this.#headerLength < needed && offset < chunk.length) {
      header[this.#headerLength++] = chunk[offset++];
    }
    if (this.#headerLength < needed) return offset;
    this.#dropHeader();
    this.#parseHeader(header, 0, offset, events);
    return offset;
  }

  #dropHeader(): void {
    this.#header = null;
    this.#headerLength = 0;
  }

  /**
   * Validates the header at `bytes[at…]` (all of it there, or at least its
   * first two bytes when those already fail it) and moves to its payload;
   * returns `next`, where reading goes on.
   */
  #parseHeader(
    bytes: Uint8Array,
    at: number,
    next: number,
    events: FrameEvent[],
  ): number {
    const fail = (code: number, reason: string, size?: number) => {
      this.#fail(events, code, reason, size);
      return next;
    };
    const b0 = bytes[at];
    const b1 = bytes[at + 1];
    if ((b0 & 0x70) !== 0) {
      return fail(FailCode.protocol, "reserved bits set");
    }
    if (!masked(b1)) {
      return fail(FailCode.protocol, "client frames must be masked");
    }
    const lengthCode = b1 & 0x7f;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    let length = lengthCode;
    let maskAt = at + 2;
    if (lengthCode === 126) {
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      maskAt = at + 4;
    } else if (lengthCode === 127) {
      length = uint32(bytes, at + 2) * 2 ** 32 + uint32(bytes, at + 6);
      maskAt = at + 10;
    }
    const control = opcode >= 0x8;
    if (control) {
      if (
        opcode !== Opcode.close && opcode !== Opcode.ping &&
        opcode !== Opcode.pong
      ) return fail(FailCode.protocol, "unknown opcode");
      if (!fin) return fail(FailCode.protocol, "fragmented control frame");
      if (length > MAX_CONTROL_PAYLOAD) {
        return fail(FailCode.protocol, "control frame too long");
      }
    } else if (opcode === Opcode.continuation) {
      if (this.#messageOpcode === 0) {
        return fail(FailCode.protocol, "continuation without a message");
      }
      if (this.#fragments.length >= MAX_FRAGMENTS) {
        return fail(FailCode.tooBig, "message in too many fragments");
      }
    } else if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#messageOpcode !== 0) {
        return fail(FailCode.protocol, "new message inside a fragmented one");
      }
    } else return fail(FailCode.protocol, "unknown opcode");
    if (!control && this.#messageBytes + length > this.maxMessageBytes) {
      // Refused on the announced length: none of the payload is read.
      return fail(
        FailCode.tooBig,
        "message too big",
        this.#messageBytes + length,
      );
    }
    this.#state = {
      phase: "payload",
      opcode,
      fin,
      mask: uint32(bytes, maskAt),
      payload: new Uint8Array(length),
      filled: 0,
    };
    return next;
  }

  #frameDone(
    opcode: number,
    fin: boolean,
    payload: Uint8Array,
    events: FrameEvent[],
  ): void {
    switch (opcode) {
      case Opcode.ping:
        events.push({ kind: "ping", data: payload });
        return;
      case Opcode.pong:
        events.push({ kind: "pong" });
        return;
      case Opcode.close:
        this.#closeFrame(payload, events);
        return;
      default: {
        if (opcode !== Opcode.continuation) this.#messageOpcode = opcode;
        this.#fragments.push(payload);
        this.#messageBytes += payload.length;
        if (!fin) return;
        const data = this.#fragments.length === 1
          ? this.#fragments[0]
          : concat(this.#fragments, this.#messageBytes);
        const messageOpcode = this.#messageOpcode;
        this.#fragments = [];
        this.#messageBytes = 0;
        this.#messageOpcode = 0;
        if (messageOpcode === Opcode.binary) {
          events.push({ kind: "binary", data });
          return;
        }
        const text = decodeUtf8(data);
        if (text === null) {
          this.#fail(events, FailCode.invalidData, "text is not UTF-8");
        } else events.push({ kind: "text", data: text });
      }
    }
  }

  #closeFrame(payload: Uint8Array, events: FrameEvent[]): void {
    if (payload.length === 0) {
      events.push({ kind: "close", code: 1005, reason: "" });
      return;
    }
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 0;
    const reason = decodeUtf8(payload.subarray(2));
    if (payload.length < 2 || !isValidCloseCode(code) || reason === null) {
      this.#fail(events, FailCode.protocol, "bad close frame");
      return;
    }
    events.push({ kind: "close", code, reason });
  }

  #fail(
    events: FrameEvent[],
    code: number,
    reason: string,
    bytes?: number,
  ): void {
    this.#state = { phase: "failed" };
    this.#fragments = [];
    this.#messageBytes = 0;
    events.push(
      bytes === undefined
        ? { kind: "fail", code, reason }
        : { kind: "fail", code, reason, bytes },
    );
  }
}

/** Close codes a peer may send (RFC 6455 §7.4). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Header bytes a frame whose second byte is `b1` has (masked: with its 4 mask bytes). */
function headerBytes(b1: number): number {
  const lengthCode = b1 & 0x7f;
  return 2 + (lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0) + 4;
}

function masked(b1: number): boolean {
  return (b1 & 0x80) !== 0;
}

/** The big-endian unsigned 32-bit number at `bytes[at…at+3]`. */
function uint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) |
    bytes[at + 3]) >>> 0;
}

/** Unmasks `source` into `target` at `at`; `mask` holds the 4 mask bytes big-endian. */
function unmaskInto(
  target: Uint8Array,
  at: number,
  source: Uint8Array,
  mask: number,
): void {
  const byteAt = (k: number) => (mask >>> ((3 - (k & 3)) << 3)) & 0xff;
  const n = source.length;
  let i = 0;
  // Up to the next multiple of 4 in the payload, byte by byte…
  for (; i < n && ((at + i) & 3) !== 0; i++) {
    target[at + i] = source[i] ^ byteAt(at + i);
  }
  // …then four at a time, the mask's bytes in order…
  const m0 = byteAt(0), m1 = byteAt(1), m2 = byteAt(2), m3 = byteAt(3);
  for (; i + 3 < n; i += 4) {
    target[at + i] = source[i] ^ m0;
    target[at + i + 1] = source[i + 1] ^ m1;
    target[at + i + 2] = source[i + 2] ^ m2;
    target[at + i + 3] = source[i + 3] ^ m3;
  }
  // …and the rest.
  for (; i < n; i++) target[at + i] = source[i] ^ byteAt(at + i);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * An unmasked, final server frame of `opcode` around `payload`.
 *
 * @example
 * ```ts
 * conn.write(encodeFrame(Opcode.pong, pingPayload));
 * ```
 */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const headerLength = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = new Uint8Array(headerLength + n);
  writeHeader(frame, 0, opcode, n);
  frame.set(payload, headerLength);
  return frame;
}

function writeHeader(
  frame: Uint8Array,
  at: number,
  opcode: number,
  n: number,
  final = true,
): void {
  frame[at] = (final ? 0x80 : 0) | opcode;
  if (n < 126) frame[at + 1] = n;
  else if (n < 65_536) {
    frame[at + 1] = 126;
    frame[at + 2] = n >> 8;
    frame[at + 3] = n & 0xff;
  } else {
    frame[at + 1] = 127;
    const view = new DataView(frame.buffer, frame.byteOffset + at + 2, 8);
    view.setUint32(0, Math.floor(n / 2 ** 32));
    view.setUint32(4, n >>> 0);
  }
}

const utf8 = new TextEncoder();
/** Reused for encoding: a frame is then copied out at its exact size. */
let scratch = new Uint8Array(64 * 1024);
/**
 * The last few text frames encoded, newest first: a group send encodes once
 * for all its sockets, and so does a shared frame (a room's presence state
 * for newcomers) sent between others.
 */
const recentTexts: string[] = [];
const recentFrames: Uint8Array[] = [];
/**
 * The first fragments encoded lately ({@link encodeTextFragments}), oldest
 * first: a room's shared presence state, sent to each of its newcomers
 * while the sockets of other rooms are sent other frames (a connect burst
 * spreads over every room at once, so the last few frames would not hold
 * it). Bounded, as it holds up to this many states (a room of 500: ~100 KB).
 */
const recentFirsts = new Map<string, Uint8Array>();
/** How many first fragments {@link recentFirsts} keeps. */
const FIRST_FRAGMENTS_KEPT = 32;
/** How many frames {@link encodeTextFrame} keeps. */
const RECENT_FRAMES = 4;

/**
 * A final, unmasked text frame, allocated at its exact size (frames live
 * until they are written and then until V8 collects them, so no slack). Server
 * frames are the same bytes for every recipient, so the last one is kept:
 * sending one string to a whole room encodes it once (see `RECENT_FRAMES`). Frames are never
 * modified after they are made.
 *
 * @example
 * ```ts
 * for (const socket of room) socket.write(encodeTextFrame(json));
 * ```
 */
export function encodeTextFrame(text: string): Uint8Array {
  return encodeText(text, "whole");
}

/** A whole text message, or the first, a middle or the last fragment of one. */
type FrameKind = "whole" | "first" | "middle" | "last";

/**
 * One text message as fragments, one per part, in order (RFC 6455 §5.4: a
 * text frame without FIN, continuations, the last with FIN); one part is a
 * whole frame. The peer reads one message, `parts.join("")`; the point is
 * that a part shared by many messages (a room's presence state, before each
 * newcomer's own changes since it) is encoded once, as
 * {@link encodeTextFrame} shares a whole frame. Each part must be valid
 * UTF-16 on its own (no surrogate pair split across parts).
 *
 * @example
 * ```ts
 * for (const frame of encodeTextFragments([sharedState, "}"])) socket.write(frame);
 * ```
 */
export function encodeTextFragments(parts: readonly string[]): Uint8Array[] {
  if (parts.length === 1) return [encodeText(parts[0], "whole")];
  return parts.map((part, i) =>
    encodeText(
      part,
      i === 0 ? "first" : i === parts.length - 1 ? "last" : "middle",
    )
  );
}

function encodeText(text: string, kind: FrameKind): Uint8Array {
  if (kind === "whole") {
    const hit = recentTexts.indexOf(text);
    if (hit >= 0) return recentFrames[hit];
  } else if (kind === "first") {
    const hit = recentFirsts.get(text);
    if (hit) return hit;
  }
  // Worst case 3 bytes per UTF-16 unit.
  if (scratch.length < text.length * 3) {
    scratch = new Uint8Array(text.length * 3);
  }
  const { written } = utf8.encodeInto(text, scratch);
  const headerLength = written < 126 ? 2 : written < 65_536 ? 4 : 10;
  const frame = new Uint8Array(headerLength + written);
  writeHeader(
    frame,
    0,
    kind === "whole" || kind === "first" ? Opcode.text : Opcode.continuation,
    written,
    kind === "whole" || kind === "last",
  );
  frame.set(scratch.subarray(0, written), headerLength);
  if (kind === "first") {
    if (recentFirsts.size >= FIRST_FRAGMENTS_KEPT) {
      recentFirsts.delete(recentFirsts.keys().next().value!);
    }
    recentFirsts.set(text, frame);
  } else if (kind === "whole") {
    recentTexts.unshift(text);
    recentFrames.unshift(frame);
    if (recentTexts.length > RECENT_FRAMES) {
      recentTexts.pop();
      recentFrames.pop();
    }
  }
  // What follows a shared first part is a message's own: not kept.
  return frame;
}

/** Longest close reason in bytes (a control frame carries 125, 2 of them the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A close frame with `code` and `reason` (cut to {@link MAX_CLOSE_REASON_BYTES}
 * on a character boundary).
 *
 * @example
 * ```ts
 * conn.write(encodeCloseFrame(1009, "message too big"));
 * ```
 */
export function encodeCloseFrame(code: number, reason = ""): Uint8Array {
  let bytes = utf8.encode(reason);
  if (bytes.length > MAX_CLOSE_REASON_BYTES) {
    let end = MAX_CLOSE_REASON_BYTES;
    // Back up over UTF-8 continuation bytes so no character is split.
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const payload = new Uint8Array(2 + bytes.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(bytes, 2);
  return encodeFrame(Opcode.close, payload);
}

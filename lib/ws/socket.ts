/**
 * A server-side WebSocket over a plain `Deno.Conn`, with the standard
 * interface the chat consumer uses (`addEventListener` for open, message,
 * close and error; `send`, `close`, `readyState`, `bufferedAmount`), reading
 * with {@link FrameReader} so that a message over the size limit is refused
 * from its frame header — nothing of it is buffered — and the socket is
 * closed with 1009.
 *
 * Closing finishes the handshake: after our close frame the socket keeps
 * reading (and discarding) until the peer's close frame, its end of stream,
 * or {@link SocketOptions.closeTimeoutMs}, so the peer reads the close code
 * instead of a reset.
 *
 * @module
 */

import {
  encodeCloseFrame,
  encodeFrame,
  encodeTextFragments,
  encodeTextFrame,
  FrameReader,
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  Opcode,
} from "./frame.ts";

/**
 * Limits and hooks of a socket. One object serves every socket with the
 * same limits (the hooks are told which socket), so a socket costs no
 * options object and no closures of its own.
 */
export interface SocketOptions {
  /** Largest message accepted, bytes; larger ones close the socket with 1009. */
  maxMessageBytes: number;
  /** With nothing heard for half of this a ping is sent; for all of it, the socket is dropped. 0 = never. */
  idleTimeoutMs: number;
  /** Longest wait for the peer's close frame after ours, ms. */
  closeTimeoutMs: number;
  /** Called when the peer broke the protocol or sent too much (never with the content). */
  onFail?: (
    socket: GuardedWebSocket,
    code: number,
    reason: string,
    bytes?: number,
  ) => void;
  /** Called once, when the connection is closed and released. */
  onFinished?: (socket: GuardedWebSocket) => void;
}

/**
 * Bytes an idle socket reads at a time: its pending read holds a buffer this
 * big for as long as the peer is silent, so it is small (a chat frame, a
 * ping or a pong fits).
 */
const SMALL_READ_BYTES = 512;
/**
 * Bytes read at a time once a read filled the small buffer (the peer is
 * sending more than a frame): taken from a pool shared by all sockets and
 * given back as soon as a read does not fill it.
 */
const LARGE_READ_BYTES = 16 * 1024;
const largeReadPool: Uint8Array<ArrayBuffer>[] = [];
/** Large read buffers kept for reuse. */
const LARGE_READ_POOL_SIZE = 64;
const NO_BYTES = new Uint8Array(0);
/** Frames queued together are written in one call up to this size. */
const WRITE_BATCH_BYTES = 64 * 1024;
/**
 * Batch buffers kept for reuse (shared by all sockets). A batch lives only
 * while it is written; pooled, batching leaves no garbage behind it, which
 * after a connect storm (presence frames queued on thousands of sockets)
 * otherwise stayed in RSS until V8 next collected.
 */
const batchPool: Uint8Array[] = [];
const BATCH_POOL_SIZE = 32;
/** Pooled batch buffers made so far (at most {@link BATCH_POOL_SIZE}). */
let batchesMade = 0;

/** A new batch buffer for the pool while it has fewer than its size; else null. */
function newPooledBatch(): Uint8Array | null {
  if (batchesMade >= BATCH_POOL_SIZE) return null;
  batchesMade++;
  return new Uint8Array(WRITE_BATCH_BYTES);
}

/**
 * Sockets with frames waiting for the next flush. A frame is not written at
 * once but once the task that sent it and the jobs already queued have run
 * (a microtask), so that what a socket is sent meanwhile (a message, then
 * presence, then more messages when several were stored together) goes out in
 * one write: under load one system call carries many frames, where Deno's
 * WebSocket makes one per frame.
 */
const dirty = new Set<GuardedWebSocket>();
let flushScheduled = false;

/**
 * Most a socket may have waiting to be written, payload plus
 * {@link QUEUED_FRAME_COST} per frame; past it the peer is not reading and the
 * connection is dropped (a close frame would wait behind the rest). The chat
 * closes a slow reader at 1 MiB (1013) before this; it is the bound for what
 * the socket sends by itself: a peer that sent 10 M pings and read nothing
 * had 3.2 GiB of pongs queued.
 */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** What a queued frame costs beyond its payload (its `Uint8Array` and backing store). */
const QUEUED_FRAME_COST = 128;

/**
 * Longest a {@link GuardedWebSocket.cork} holds a socket's writes (the `101`
 * among them), released by {@link GuardedWebSocket.heartbeat}: well inside
 * the 20 s Firefox gives a WebSocket handshake before it fails it.
 */
export const CORK_MAX_MS = 5_000;

function scheduleFlush(socket: GuardedWebSocket): void {
  dirty.add(socket);
  if (flushScheduled) return;
  flushScheduled = true;
  queueMicrotask(flushDirty);
}

function flushDirty(): void {
  flushScheduled = false;
  for (const socket of dirty) socket.flush();
  dirty.clear();
}

/** `readyState` values, as on `WebSocket`. */
export const ReadyState = {
  connecting: 0,
  open: 1,
  closing: 2,
  closed: 3,
} as const;
type ReadyStateValue = typeof ReadyState[keyof typeof ReadyState];

/**
 * One WebSocket. Created (CONNECTING) when the app accepts an upgrade;
 * {@link attach}ed to the connection once the `101` is written.
 *
 * @example
 * ```ts
 * const socket = new GuardedWebSocket(options);
 * socket.addEventListener("message", (e) => socket.send(e.data));
 * // … once the app accepted the upgrade:
 * socket.attach(conn, bytesReadPastTheHead, switchingProtocolsBytes);
 * ```
 */
export class GuardedWebSocket extends EventTarget {
  #state: ReadyStateValue = ReadyState.connecting;
  #conn: Deno.Conn | null = null;
  readonly #reader: FrameReader;
  #queue: Uint8Array[] = [];
  #buffered = 0;
  #writing = false;
  /** The chunk being written, and the pooled batch buffer it is in (if any). */
  #chunk: Uint8Array | null = null;
  #pooled: Uint8Array | null = null;
  /** Set once our close frame is queued. */
  #closeSent = false;
  /** Close the connection as soon as the queue is written (the handshake is done). */
  #finishWhenWritten = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #finished = false;
  #code = 1006;
  #reason = "";
  #clean = false;
  /** When the peer was last heard from (ms, `Date.now()`), for {@link heartbeat}. */
  #lastHeard = Date.now();
  #pinged = false;
  /** When {@link cork} began holding writes (ms, `Date.now()`); 0: not corked. */
  #corkedAt = 0;
  /** The last pong queued: a ping while it waits replaces it (RFC 6455 §5.5.3). */
  #pong: Uint8Array | null = null;

  constructor(readonly options: SocketOptions) {
    super();
    this.#reader = new FrameReader(options.maxMessageBytes);
  }

  get readyState(): number {
    return this.#state;
  }

  /** Bytes queued for sending and not yet written to the connection. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** The peer's address while the connection is open. */
  get remoteAddr(): Deno.NetAddr | null {
    return (this.#conn?.remoteAddr as Deno.NetAddr | undefined) ?? null;
  }

  /**
   * Starts the socket on `conn`: `preamble` (the `101` answer) is written
   * first, before any frame; `head` are bytes the client sent past its
   * request head.
   */
  attach(
    conn: Deno.Conn,
    head: Uint8Array = NO_BYTES,
    preamble: Uint8Array | null = null,
  ): void {
    if (this.#state !== ReadyState.connecting) {
      conn.close();
      return;
    }
    this.#conn = conn;
    this.#state = ReadyState.open;
    this.#lastHeard = Date.now();
    if (preamble) this.#enqueue(preamble);
    this.dispatchEvent(new Event("open"));
    this.#readLoop(head);
  }

  /**
   * Holds this socket's writes until {@link uncork} — the `101` too, when
   * corked from an `open` listener (the `101` is queued, not yet written) —
   * so what the app sends as it opens a socket goes in one write. A
   * reconnect's `101`, welcome batch and resume answer were three writes of
   * the ~6 per socket a storm makes (measured: 12,223 writes for 2,000
   * reconnects). Closing, or {@link heartbeat} after {@link CORK_MAX_MS},
   * releases them anyway.
   *
   * @example
   * ```ts
   * socket.addEventListener("open", async () => {
   *   socket.cork();
   *   try { socket.send(await welcome()); } finally { socket.uncork(); }
   * });
   * ```
   */
  cork(): void {
    if (this.#state === ReadyState.open) this.#corkedAt = Date.now();
  }

  /** Ends a {@link cork}: what it held is written now. */
  uncork(): void {
    if (this.#corkedAt === 0) return;
    this.#corkedAt = 0;
    this.flush();
  }

  /** Whether writes wait for {@link uncork}: corked, and still open (a close goes out). */
  #held(): boolean {
    return this.#corkedAt !== 0 && this.#state === ReadyState.open;
  }

  /** The handshake failed before {@link attach}: the socket closes without ever opening. */
  abort(): void {
    if (this.#state !== ReadyState.connecting) return;
    this.#finish();
  }

  /**
   * Queues one text message sent as fragments, one per part
   * (`encodeTextFragments`: a part shared by many messages is encoded once);
   * the peer reads `parts.join("")`. Throws while CONNECTING, like {@link send}.
   */
  sendParts(parts: readonly string[]): void {
    if (this.#state === ReadyState.connecting) {
      throw new DOMException("the socket is not open yet", "InvalidStateError");
    }
    if (this.#state !== ReadyState.open) return;
    // Queued in one step: no other message's frame comes between them.
    for (const frame of encodeTextFragments(parts)) this.#enqueue(frame);
  }

  /** Queues a text (string) or binary message. Throws while CONNECTING, like `WebSocket`. */
  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.#state === ReadyState.connecting) {
      throw new DOMException("the socket is not open yet", "InvalidStateError");
    }
    if (this.#state !== ReadyState.open) return;
    if (typeof data === "string") {
      this.#enqueue(encodeTextFrame(data));
      return;
    }
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    this.#enqueue(encodeFrame(Opcode.binary, bytes));
  }

  /** Starts the closing handshake with `code` (default 1000) and `reason`. */
  close(code = 1000, reason = ""): void {
    if (!isValidCloseCode(code)) {
      throw new DOMException(`bad close code ${code}`, "InvalidAccessError");
    }
    if (new TextEncoder().encode(reason).length > MAX_CLOSE_REASON_BYTES) {
      throw new DOMException("close reason too long", "SyntaxError");
    }
    if (this.#state === ReadyState.connecting) {
      this.#code = code;
      this.#reason = reason;
      this.#finish();
      return;
    }
    if (this.#state !== ReadyState.open) return;
    this.#startClosing(code, reason);
  }

  /**
   * Called periodically by whoever holds the sockets: pings a quiet peer at
   * half the idle timeout, drops it at the full timeout; ends a
   * {@link cork} older than {@link CORK_MAX_MS}.
   */
  heartbeat(now: number): void {
    if (this.#corkedAt !== 0 && now - this.#corkedAt >= CORK_MAX_MS) {
      this.uncork();
    }
    const idle = this.options.idleTimeoutMs;
    if (this.#state !== ReadyState.open || idle <= 0) return;
    const quiet = now - this.#lastHeard;
    if (quiet >= idle) {
      this.#finish();
      return;
    }
    if (quiet >= idle / 2 && !this.#pinged) {
      this.#pinged = true;
      this.#enqueue(encodeFrame(Opcode.ping, new Uint8Array(0)));
    }
  }

  #startClosing(code: number, reason: string): void {
    this.#state = ReadyState.closing;
    this.#code = code;
    this.#reason = reason;
    this.#sendClose(code, reason);
    this.#closeTimer = setTimeout(
      () => this.#finish(),
      this.options.closeTimeoutMs,
    );
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    // 1005 means "no code": the answer to an empty close frame is an empty close frame.
    this.#enqueue(
      code === 1005
        ? encodeFrame(Opcode.close, new Uint8Array(0))
        : encodeCloseFrame(code, reason),
    );
  }

  /**
   * Reads until the connection ends; `head` are bytes that came with the
   * request head. Reads into the socket's small buffer; one that fills it
   * switches to a pooled large one, kept only while reads fill it.
   */
  async #readLoop(head: Uint8Array): Promise<void> {
    const conn = this.#conn!;
    const small = new Uint8Array(SMALL_READ_BYTES);
    let buffer = small;
    try {
      if (head.length > 0) await this.#received(head);
      while (!this.#finished) {
        const n = await conn.read(buffer);
        if (n === null) break;
        this.#lastHeard = Date.now();
        this.#pinged = false;
        await this.#received(buffer.subarray(0, n));
        if (n === buffer.length && buffer === small) {
          buffer = largeReadPool.pop() ?? new Uint8Array(LARGE_READ_BYTES);
        } else if (buffer !== small && n < buffer.length) {
          // The peer caught up: an idle socket must not keep a large buffer in its pending read.
          giveBackLarge(buffer);
          buffer = small;
        }
      }
    } catch {
      // Reset by the peer, or closed by us: either way the connection is over.
    }
    if (buffer !== small) giveBackLarge(buffer);
    this.#finish();
  }

  /**
   * Handles the frames in `bytes`. Between two messages it yields to the
   * event loop, as Deno's WebSocket does (one message per read), so what a
   * listener started for one message (its answers included) runs before the
   * next message is dispatched.
   */
  async #received(bytes: Uint8Array): Promise<void> {
    // After a failure the reader ignores input: draining until the peer stops or the timer ends.
    let dispatched = false;
    for (const event of this.#reader.push(bytes)) {
      if (this.#finished) return;
      switch (event.kind) {
        case "text":
        case "binary":
          if (this.#state !== ReadyState.open) break;
          if (dispatched) await nextTask();
          if (this.#state !== ReadyState.open) break;
          dispatched = true;
          this.dispatchEvent(
            new MessageEvent("message", {
              data: event.kind === "text"
                ? event.data
                : toArrayBuffer(event.data),
            }),
          );
          break;
        case "ping":
          if (this.#state === ReadyState.open) this.#queuePong(event.data);
          break;
        case "pong":
          break;
        case "close":
          if (this.#state === ReadyState.open) {
            // The peer started closing: answer with its code, then end the connection.
            this.#state = ReadyState.closing;
            this.#code = event.code;
            this.#reason = event.reason;
            this.#sendClose(event.code, event.reason);
          }
          this.#clean = true;
          this.#finishWhenWritten = true;
          if (!this.#writing && this.#queue.length === 0) {
            this.#finish();
          } else {
            // A peer that closes and stops reading must not hold the socket:
            // what waits for it is given up after the close timeout.
            this.#closeTimer ??= setTimeout(
              () => this.#finish(),
              this.options.closeTimeoutMs,
            );
          }
          return;
        case "fail":
          this.options.onFail?.(this, event.code, event.reason, event.bytes);
          if (this.#state === ReadyState.open) {
            this.#startClosing(event.code, event.reason);
          }
          return;
        default: {
          const _exhaustive: never = event;
          throw new Error(`unknown frame event ${_exhaustive}`);
        }
      }
    }
  }

  /** Answers a ping: the pong replaces one still waiting, so a ping flood queues one. */
  #queuePong(data: Uint8Array): void {
    const pong = encodeFrame(Opcode.pong, data);
    const waiting = this.#pong === null
      ? -1
      : this.#queue.lastIndexOf(this.#pong);
    this.#pong = pong;
    if (waiting < 0) {
      this.#enqueue(pong);
      return;
    }
    this.#buffered += pong.length - this.#queue[waiting].length;
    this.#queue[waiting] = pong;
  }

  #enqueue(frame: Uint8Array): void {
    if (this.#finished || !this.#conn) return;
    this.#buffered += frame.length;
    if (
      this.#buffered + this.#queue.length * QUEUED_FRAME_COST >
        MAX_QUEUED_BYTES
    ) {
      this.#finish();
      return;
    }
    this.#queue.push(frame);
    // While a write is in flight, its completion takes what queued meanwhile.
    if (!this.#writing) scheduleFlush(this);
  }

  /** Writes what is queued, unless a write is in flight (see `scheduleFlush`). */
  flush(): void {
    if (
      !this.#writing && !this.#finished && this.#queue.length > 0 &&
      !this.#held()
    ) {
      this.#takeBatch();
    }
  }

  /**
   * Writes `chunk` (`pooled`: the batch buffer it lives in). No async
   * function: a promise and its handlers per write, because a connect storm
   * makes millions of writes and what they leave stays in the heap until V8's
   * next full collection.
   */
  #write(chunk: Uint8Array, pooled: Uint8Array | null): void {
    this.#writing = true;
    this.#chunk = chunk;
    this.#pooled = pooled;
    this.#conn!.write(chunk).then(this.#wrote, this.#writeFailed);
  }

  /** Continues after a write of `n` bytes: the rest of the chunk, the next batch, or done. */
  readonly #wrote = (n: number): void => {
    const chunk = this.#chunk!;
    if (this.#finished) return this.#release();
    if (n < chunk.length) {
      this.#conn!.write(chunk.subarray(n)).then(this.#wrote, this.#writeFailed);
      this.#chunk = chunk.subarray(n);
      this.#buffered -= n;
      return;
    }
    this.#buffered -= chunk.length;
    this.#release();
    if (this.#queue.length > 0 && !this.#held()) {
      this.#takeBatch();
      return;
    }
    this.#writing = false;
    if (this.#finishWhenWritten) this.#finish();
  };

  readonly #writeFailed = (): void => {
    this.#release();
    this.#finish();
  };

  /** Gives the written chunk's batch buffer back to the pool. */
  #release(): void {
    const pooled = this.#pooled;
    this.#chunk = null;
    this.#pooled = null;
    this.#writing = false;
    if (pooled && batchPool.length < BATCH_POOL_SIZE) batchPool.push(pooled);
  }

  /**
   * Writes what is queued: one frame, or several copied together (up to
   * {@link WRITE_BATCH_BYTES}) into a pooled buffer, returned to the pool
   * once written (or, with none free, into a buffer made to size).
   */
  #takeBatch(): void {
    const queue = this.#queue;
    let count = 1;
    let size = queue[0].length;
    while (
      count < queue.length && size + queue[count].length <= WRITE_BATCH_BYTES
    ) size += queue[count++].length;
    if (count === 1) {
      this.#write(queue.shift()!, null);
      return;
    }
    // With no pooled buffer free (a storm: thousands of sockets flushed at
    // once) the batch is made to size and not kept: a new 64 KiB buffer per
    // socket was 64 KiB zeroed each time, and external memory that made V8
    // collect (a 2,000-socket storm's profile: 5 % of the main thread's
    // ticks in that allocation alone).
    const pooled = batchPool.pop() ?? newPooledBatch();
    const batch = pooled ?? new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < count; i++) {
      batch.set(queue[i], at);
      at += queue[i].length;
    }
    if (count === queue.length) queue.length = 0;
    else queue.splice(0, count);
    this.#write(batch.subarray(0, size), pooled);
  }

  /** Closes the connection (once) and tells the listeners. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#closeTimer);
    const opened = this.#conn !== null;
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = null;
    this.#queue = [];
    this.#buffered = 0;
    this.#state = ReadyState.closed;
    this.options.onFinished?.(this);
    if (!this.#clean && opened && !this.#closeSent) {
      this.dispatchEvent(new Event("error"));
    }
    this.dispatchEvent(
      new CloseEvent("close", {
        code: this.#code,
        reason: this.#reason,
        wasClean: this.#clean,
      }),
    );
  }
}

/** Returns a large read buffer to the pool (dropped when the pool is full). */
function giveBackLarge(buffer: Uint8Array<ArrayBuffer>): void {
  if (largeReadPool.length < LARGE_READ_POOL_SIZE) largeReadPool.push(buffer);
}

/** Resolves in a later task: the microtasks queued so far (and those they queue) run first. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer;
}
